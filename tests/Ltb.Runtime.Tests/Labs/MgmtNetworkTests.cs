using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Runtime.Tests.Support;

namespace Ltb.Runtime.Tests.Labs;

/// <summary>
/// The management network as LTB wires it: nodes reach the gateway and each other by name over eth0, status shows the
/// addresses LTB allocated, a restarted node keeps its address and reachability, a node with published ports stays
/// Docker's (with LTB's address), and destroy leaves nothing.
/// </summary>
public sealed class MgmtNetworkTests
{
    [Fact]
    public async Task Nodes_reach_the_gateway_and_each_other_by_name_also_after_a_restart()
    {
        var lab = TestLabs.UniqueName("mgmt");
        var third = Random.Shared.Next(100, 250);
        var plan = new LabPlan
        {
            LabName = lab,
            Mgmt = new MgmtNetworkPlan { Ipv4Subnet = $"10.252.{third}.0/24", Ipv6Subnet = $"fd00:252:{third}::/64" },
            Nodes =
            [
                TestLabs.Tiny("n1"),
                TestLabs.Tiny("n2") with { MgmtIpv4 = $"10.252.{third}.2" },
                TestLabs.Tiny("web") with { Ports = [new PortMapping(Random.Shared.Next(20000, 30000), 80)] },
            ],
            Links = [new LinkPlan { A = new LinkEndpoint("n1", "e1"), B = new LinkEndpoint("n2", "e1") }],
        };
        await using var fixture = await LabUnderTest.RequireAsync(plan, TestLabs.TinyImage);
        var (engine, runtime, net) = (fixture.Engine, fixture.Runtime, fixture.Net);
        var hostBefore = (await net.ListLinksAsync(null, TestLabs.Ct)).Select(l => l.Name).ToHashSet();
        var status = await fixture.DeployAsync(new DeployOptions { OnFailure = FailurePolicy.Rollback });
        Assert.Equal(LabState.Running, status.State);
        // The static address is honoured, the gateway (.1) is never handed out, no address twice.
        Assert.Equal($"10.252.{third}.2", status.Node("n2").MgmtIpv4);
        Assert.All(status.Nodes, n => Assert.StartsWith($"10.252.{third}.", n.MgmtIpv4));
        Assert.DoesNotContain(status.Nodes, n => n.MgmtIpv4 == $"10.252.{third}.1");
        Assert.Equal(3, status.Nodes.Select(n => n.MgmtIpv4).Distinct().Count());
        Assert.All(status.Nodes, n => Assert.StartsWith($"fd00:252:{third}::", n.MgmtIpv6));
        var n1 = status.Node("n1");
        var eth0 = Assert.Single(n1.Interfaces, i => i.Name == "eth0");
        Assert.True(eth0.Carrier);
        Assert.Equal(Names.MgmtMac(lab, "n1"), eth0.Mac);

        // LTB wired n1 (Docker has no endpoint for it); the node with published ports is Docker's, with LTB's address.
        var inspect1 = await engine.Client.Containers.InspectContainerAsync(Names.Container(lab, "n1"), TestLabs.Ct);
        Assert.Equal("none", inspect1.HostConfig!.NetworkMode);
        var inspectWeb = await engine.Client.Containers.InspectContainerAsync(Names.Container(lab, "web"), TestLabs.Ct);
        Assert.Equal(status.Node("web").MgmtIpv4, inspectWeb.NetworkSettings!.Networks[plan.MgmtNetworkName].IPAddress);

        await PingAsync("n1", $"10.252.{third}.1");
        await PingAsync("n1", $"fd00:252:{third}::1");
        await PingAsync("n1", status.Node("n2").MgmtIpv6!);
        await PingAsync("n1", "n2");
        await PingAsync("n2", "web");
        await PingAsync("web", "n1");

        var restarted = await runtime.RestartNodeAsync(lab, "n1", TestLabs.Ct);
        Assert.Equal(NodeState.Running, restarted.State);
        Assert.Equal(n1.MgmtIpv4, restarted.MgmtIpv4);
        Assert.Contains(restarted.Interfaces, i => i.Name == "eth0" && i.Carrier && i.Mac == eth0.Mac);
        var addr = await engine.ExecAsync(Names.Container(lab, "n1"), ["ip", "-4", "addr", "show", "eth0"], TimeSpan.FromSeconds(30), TestLabs.Ct);
        Assert.Contains($"{n1.MgmtIpv4}/24", addr.Stdout);
        await PingAsync("n1", $"10.252.{third}.1");
        await PingAsync("n1", $"fd00:252:{third}::1");
        await PingAsync("n1", "n2");
        await PingAsync("n2", "n1");
        await fixture.DestroyAsync();
        var hostAfter = (await net.ListLinksAsync(null, TestLabs.Ct)).Select(l => l.Name).ToList();
        Assert.DoesNotContain(hostAfter, l => l.StartsWith("le", StringComparison.Ordinal) && !hostBefore.Contains(l) && (l == Names.MgmtHostVeth(lab, "n1") || l == Names.MgmtHostVeth(lab, "n2")));
        await fixture.AssertNoLeftoversAsync();

        async Task PingAsync(string from, string to)
        {
            var r = await TestLabs.EventuallyAsync(
                () => engine.ExecAsync(Names.Container(lab, from), ["ping", "-c", "1", "-W", "2", to], TimeSpan.FromSeconds(30), TestLabs.Ct),
                r => r.Succeeded, TimeSpan.FromSeconds(20));
            Assert.True(r.Succeeded, $"{from} does not reach {to}: {r.Stdout}{r.Stderr}");
        }
    }
}
