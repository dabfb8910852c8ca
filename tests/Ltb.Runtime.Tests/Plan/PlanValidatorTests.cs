using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Tests.Plan;

public sealed class PlanValidatorTests
{
    private static LabPlan Valid() => new()
    {
        LabName = "lab1",
        Nodes = [new NodePlan { Name = "a", Image = "x" }, new NodePlan { Name = "b", Image = "x" }],
        Links = [new LinkPlan { A = new LinkEndpoint("a", "eth1"), B = new LinkEndpoint("b", "eth1") }],
    };

    [Fact]
    public void A_valid_plan_passes() => PlanValidator.Validate(Valid());

    [Theory]
    [InlineData("a", "interface-name-too-long", "interface name 'interface-name-too-long' is not valid")]
    [InlineData("zz", "eth1", "unknown node 'zz'")]
    [InlineData("a", "eth 1", "interface name 'eth 1' is not valid")]
    public void Bad_endpoints_are_named(string node, string iface, string expected)
    {
        var plan = Valid() with { Links = [new LinkPlan { A = new LinkEndpoint(node, iface), B = new LinkEndpoint("b", "eth2") }] };
        var e = Assert.Throws<LabRuntimeException>(() => PlanValidator.Validate(plan));
        Assert.Contains(expected, e.Message);
        Assert.Contains("lab1", e.Message);
    }

    [Fact]
    public void An_interface_used_twice_is_refused()
    {
        var plan = Valid() with { Links = [.. Valid().Links, new LinkPlan { A = new LinkEndpoint("a", "eth1"), B = new LinkEndpoint("b", "eth2") }] };
        Assert.Contains("a:eth1 is used by more than one link", Assert.Throws<LabRuntimeException>(() => PlanValidator.Validate(plan)).Message);
    }

    [Fact]
    public void Lab_and_node_names_that_could_reach_a_shell_or_a_path_are_refused()
    {
        Assert.Throws<LabRuntimeException>(() => PlanValidator.Validate(Valid() with { LabName = "x;rm -rf" }));
        Assert.Throws<LabRuntimeException>(() => PlanValidator.Validate(Valid() with { LabName = "../etc" }));
        Assert.Throws<LabRuntimeException>(() => PlanValidator.Validate(Valid() with { Nodes = [new NodePlan { Name = "a b", Image = "x" }], Links = [] }));
    }

    [Fact]
    public void Relative_bind_paths_and_unknown_wait_for_are_refused()
    {
        var plan = Valid() with
        {
            Nodes = [new NodePlan { Name = "a", Image = "x", Binds = [new BindMount("rel/path", "/x")], WaitFor = ["nobody"] }, new NodePlan { Name = "b", Image = "x" }],
        };
        var e = Assert.Throws<LabRuntimeException>(() => PlanValidator.Validate(plan));
        Assert.Contains("not absolute", e.Message);
        Assert.Contains("waits for unknown node 'nobody'", e.Message);
    }
}
