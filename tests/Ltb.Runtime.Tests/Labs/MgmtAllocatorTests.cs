using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Tests.Labs;

/// <summary>LTB's own address allocation on the management network, and who attaches a node to it.</summary>
public sealed class MgmtAllocatorTests
{
    private static readonly MgmtState Net = new("br-x", "10.9.0.0/24", "10.9.0.1", "fd00:9::/64", "fd00:9::1", 1500, new Dictionary<string, MgmtAddresses>());

    private static NodePlan Node(string name, string? v4 = null) => new() { Name = name, Image = "i", MgmtIpv4 = v4 };

    [Fact]
    public void Statics_are_honoured_the_gateway_is_skipped_and_no_address_is_given_twice()
    {
        var plan = new LabPlan { LabName = "l", Nodes = [Node("a"), Node("b", "10.9.0.2"), Node("c"), Node("h") with { NetworkMode = "host" }] };
        var a = MgmtAllocator.Allocate(plan, Net, new Dictionary<string, MgmtAddresses>());
        Assert.Equal("10.9.0.2", a["b"].Ipv4);
        Assert.Equal("10.9.0.3", a["a"].Ipv4);
        Assert.Equal("10.9.0.4", a["c"].Ipv4);
        Assert.Equal("fd00:9::2", a["a"].Ipv6);
        Assert.False(a.ContainsKey("h"));
    }

    [Fact]
    public void Kept_nodes_keep_their_addresses_and_recreated_ones_theirs_where_free()
    {
        var plan = new LabPlan { LabName = "l", Nodes = [Node("a"), Node("b"), Node("new")] };
        var kept = new Dictionary<string, MgmtAddresses> { ["a"] = new("10.9.0.7", "fd00:9::7") };
        var previous = new Dictionary<string, MgmtAddresses>(kept) { ["b"] = new("10.9.0.9", "fd00:9::9") };
        var a = MgmtAllocator.Allocate(plan, Net, kept, previous);
        Assert.Equal("10.9.0.7", a["a"].Ipv4);
        Assert.Equal("10.9.0.9", a["b"].Ipv4);
        Assert.Equal("10.9.0.2", a["new"].Ipv4);
    }

    [Fact]
    public void A_preferred_address_is_taken_where_free_and_in_the_subnet_else_the_next_free_one()
    {
        // A restore whose VMs resume from RAM asks for the addresses their guests hold.
        var plan = new LabPlan
        {
            LabName = "l",
            Nodes = [Node("vm") with { PreferredMgmtIpv4 = "10.9.0.9" }, Node("elsewhere") with { PreferredMgmtIpv4 = "10.8.0.9" }, Node("c")],
        };
        var a = MgmtAllocator.Allocate(plan, Net, new Dictionary<string, MgmtAddresses>());
        Assert.Equal("10.9.0.9", a["vm"].Ipv4);
        Assert.Equal("10.9.0.2", a["elsewhere"].Ipv4);
        Assert.Equal("10.9.0.3", a["c"].Ipv4);
    }

    [Theory]
    [InlineData("10.9.0.1", "already taken by the gateway")]
    [InlineData("10.9.1.5", "not an address of the management subnet")]
    [InlineData("10.9.0.255", "broadcast")]
    public void A_bad_static_address_is_refused_naming_the_node(string address, string says)
    {
        var plan = new LabPlan { LabName = "l", Nodes = [Node("a", address)] };
        var e = Assert.Throws<LabRuntimeException>(() => MgmtAllocator.Allocate(plan, Net, new Dictionary<string, MgmtAddresses>()));
        Assert.Equal("a", e.Node);
        Assert.Contains(says, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_static_address_of_a_running_node_is_refused()
    {
        var plan = new LabPlan { LabName = "l", Nodes = [Node("a"), Node("b", "10.9.0.5")] };
        var e = Assert.Throws<LabRuntimeException>(() =>
            MgmtAllocator.Allocate(plan, Net, new Dictionary<string, MgmtAddresses> { ["a"] = new("10.9.0.5", null) }));
        Assert.Contains("node 'a'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Docker_attaches_nodes_with_published_ports_or_their_own_network_mode_and_LTB_the_others()
    {
        var plan = new LabPlan { LabName = "l" };
        Assert.Equal(MgmtAttachment.Veth, MgmtAttachments.Of(plan, Node("a")));
        Assert.Equal(MgmtAttachment.Docker, MgmtAttachments.Of(plan, Node("a") with { Ports = [new PortMapping(8080, 80)] }));
        Assert.Equal(MgmtAttachment.Docker, MgmtAttachments.Of(plan, Node("a") with { NetworkMode = "ltb-l" }));
        Assert.Equal(MgmtAttachment.None, MgmtAttachments.Of(plan, Node("a") with { NetworkMode = "none" }));
    }

    [Fact]
    public void An_LTB_wired_node_is_created_without_network_with_hosts_entries_and_its_addresses_in_labels()
    {
        var plan = new LabPlan { LabName = "l", Nodes = [Node("a"), Node("b")] };
        var net = Net.WithNodes(MgmtAllocator.Allocate(plan, Net, new Dictionary<string, MgmtAddresses>()));
        var p = new ContainerNodes(null!, new LabStateStore(Path.GetTempPath())).BuildCreate(plan, plan.Nodes[0], net);
        Assert.Equal("none", p.HostConfig!.NetworkMode);
        Assert.Null(p.NetworkingConfig);
        Assert.Equal("10.9.0.2", p.Labels[Names.MgmtIpv4Label]);
        Assert.Equal("fd00:9::2", p.Labels[Names.MgmtIpv6Label]);
        Assert.Contains("b:10.9.0.3", p.HostConfig.ExtraHosts!);
        Assert.Contains("ltb-l-b:10.9.0.3", p.HostConfig.ExtraHosts!);
        Assert.Contains("a:fd00:9::2", p.HostConfig.ExtraHosts!);
    }
}
