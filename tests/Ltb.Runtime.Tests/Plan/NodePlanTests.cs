using System.Text.Json;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Topology.Catalog;

namespace Ltb.Runtime.Tests.Plan;

/// <summary>A node's runtime and VM part travel with the plan (lab.json, the agent contract's JSON) and leave container plans as they were.</summary>
public sealed class NodePlanTests
{
    private static readonly NodePlan Container = new() { Name = "pc", Image = "ltb/tiny:latest" };
    private static readonly NodePlan Vm = new() { Name = "r1", Image = "vr-sros:23.10", Runtime = NodeRuntime.Vm, Vm = new VmPlan("/var/lib/ltb/disks/sros.qcow2", Firmware: "uefi") };

    [Fact]
    public void A_container_node_is_written_as_before_so_its_hash_and_stored_plans_do_not_change()
    {
        var json = JsonSerializer.Serialize(Container, LabStateStore.Json);
        Assert.DoesNotContain("runtime", json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\"Vm\"", json, StringComparison.Ordinal);
        Assert.Equal(NodeRuntime.Container, JsonSerializer.Deserialize<NodePlan>("""{"Name":"pc","Image":"x"}""", LabStateStore.Json)!.Runtime);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_vm_node_keeps_its_runtime_and_vm_part_through_the_state_file_and_the_agent_contract(bool agentWire)
    {
        var options = agentWire ? JsonSerializerOptions.Web : LabStateStore.Json; // AgentWire.Json is JsonSerializerOptions.Web
        var plan = new LabPlan { LabName = "vm", Nodes = [Container, Vm] };
        var back = JsonSerializer.Deserialize<LabPlan>(JsonSerializer.Serialize(plan, options), options)!;
        Assert.Equal(NodeRuntime.Container, back.Nodes[0].Runtime);
        Assert.Null(back.Nodes[0].Vm);
        Assert.Equal(NodeRuntime.Vm, back.Nodes[1].Runtime);
        Assert.Equal(Vm.Vm, back.Nodes[1].Vm);
        Assert.NotEqual(Names.NodeHash(Container with { Name = "r1" }), Names.NodeHash(back.Nodes[1]));
    }

    [Fact]
    public void The_validator_refuses_a_vm_node_without_its_vm_part_and_a_container_node_with_one()
    {
        var e = Assert.Throws<LabRuntimeException>(() => PlanValidator.Validate(new LabPlan
        {
            LabName = "vm",
            Nodes = [Vm with { Vm = null }, Container with { Vm = new VmPlan("/d.qcow2") }],
        }));
        Assert.Contains("node 'r1' runs as a VM but has no VM part", e.Message);
        Assert.Contains("node 'pc' runs as container but carries a VM part", e.Message);
    }
}
