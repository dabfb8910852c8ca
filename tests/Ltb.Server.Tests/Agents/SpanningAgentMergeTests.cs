using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Server.Labs.Spanning;

namespace Ltb.Server.Tests.Agents;

/// <summary>The hosts' views of a spanning lab make one view: all nodes, links as written, running only when all parts run.</summary>
public sealed class SpanningAgentMergeTests
{
    private static NodeStatus Node(string name, params InterfaceStatus[] interfaces) =>
        new(name, $"ltb-x-{name}", "id", "img", NodeState.Running, null, null, 1, interfaces);

    [Fact]
    public void The_two_vxlan_ends_of_a_cross_host_link_show_as_the_link_between_the_two_nodes()
    {
        const string key = "Veth:r1:eth1=r2:eth1";
        var a = new LabStatus("x", LabState.Running, LinkBackend.Veth, "ltb-x", "172.20.20.0/24", null,
            [Node("r1", new InterfaceStatus("eth1", null, 1450, true, true, null), new InterfaceStatus("eth2", null, 9500, true, true, "pc:eth1")),
             Node("pc", new InterfaceStatus("eth1", null, 9500, true, true, "r1:eth2"))],
            [new LinkStatus("Vxlan:r1:eth1", LinkType.Vxlan, "r1:eth1", null, true), new LinkStatus("Veth:pc:eth1=r1:eth2", LinkType.Veth, "pc:eth1", "r1:eth2", true)]);
        var b = new LabStatus("x", LabState.Running, LinkBackend.Veth, "ltb-x", "172.20.20.0/24", null,
            [Node("r2", new InterfaceStatus("eth1", null, 1450, true, true, null))],
            [new LinkStatus("Vxlan:r2:eth1", LinkType.Vxlan, "r2:eth1", null, true)]);

        var merged = SpanningAgent.Merge("x", [("hostA", a), ("hostB", b)], [key]);
        Assert.Equal(LabState.Running, merged.State);
        Assert.Equal(["r1", "pc", "r2"], merged.Nodes.Select(n => n.Name));
        Assert.Equal(2, merged.Links.Count);
        Assert.Contains(new LinkStatus(key, LinkType.Vxlan, "r1:eth1", "r2:eth1", true), merged.Links);
        Assert.Equal("r2:eth1", merged.Node("r1").Interfaces.Single(i => i.Name == "eth1").Peer);
        Assert.Equal("r1:eth1", merged.Node("r2").Interfaces.Single(i => i.Name == "eth1").Peer);
        Assert.Equal("pc:eth1", merged.Node("r1").Interfaces.Single(i => i.Name == "eth2").Peer);

        // One host down: the lab is degraded, the link is down, and the error names the host.
        var gone = b with { State = LabState.Absent, Nodes = [], Links = [], Error = "does not answer" };
        var degraded = SpanningAgent.Merge("x", [("hostA", a), ("hostB", gone)], [key]);
        Assert.Equal(LabState.Degraded, degraded.State);
        Assert.False(degraded.Links.Single(l => l.Key == key).Up);
        Assert.Equal("host 'hostB': does not answer", degraded.Error);
    }
}
