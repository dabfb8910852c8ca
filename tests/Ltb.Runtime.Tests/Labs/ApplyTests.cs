using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Runtime.Tests.Support;

namespace Ltb.Runtime.Tests.Labs;

public sealed class ApplyTests
{
    private static LinkPlan L(string a, string b) =>
        new() { A = new LinkEndpoint(a.Split(':')[0], a.Split(':')[1]), B = new LinkEndpoint(b.Split(':')[0], b.Split(':')[1]) };

    [Fact]
    public void The_diff_recreates_only_changed_nodes_and_their_links()
    {
        var old = new LabPlan
        {
            LabName = "d",
            Nodes = [TestLabs.Tiny("a"), TestLabs.Tiny("b"), TestLabs.Tiny("c")],
            Links = [L("a:eth1", "b:eth1"), L("b:eth2", "c:eth1")],
        };
        var @new = old with
        {
            Nodes = [TestLabs.Tiny("a") with { Env = new Dictionary<string, string> { ["X"] = "1" } }, TestLabs.Tiny("b"), TestLabs.Tiny("d")],
            Links = [L("a:eth1", "b:eth1"), L("b:eth2", "d:eth1")],
        };
        var diff = PlanDiff.Compute(old, @new);
        Assert.Equal(["d"], diff.AddedNodes.Select(n => n.Name));
        Assert.Equal(["c"], diff.RemovedNodes);
        Assert.Equal(["a"], diff.ChangedNodes.Select(n => n.Name));
        Assert.Equal(["Veth:a:eth1=b:eth1", "Veth:b:eth2=c:eth1"], diff.LinksToRemove.Select(l => l.Key));
        Assert.Equal(["Veth:a:eth1=b:eth1", "Veth:b:eth2=d:eth1"], diff.LinksToCreate.Select(l => l.Key));
        Assert.True(PlanDiff.Compute(old, old).IsEmpty);
    }

    [Theory]
    [InlineData(LinkBackend.Veth)]
    [InlineData(LinkBackend.LinuxBridge)]
    public async Task Applying_a_changed_plan_changes_only_what_differs(LinkBackend backend)
    {
        var name = TestLabs.UniqueName("apply");
        var v1 = new LabPlan
        {
            LabName = name,
            LinkBackend = backend,
            Nodes = [TestLabs.Tiny("a"), TestLabs.Tiny("b"), TestLabs.Tiny("c")],
            Links = [L("a:eth1", "b:eth1"), L("b:eth2", "c:eth1")],
        };
        var v2 = v1 with
        {
            Nodes = [TestLabs.Tiny("a") with { Env = new Dictionary<string, string> { ["X"] = "1" } }, TestLabs.Tiny("b"), TestLabs.Tiny("d")],
            Links = [L("a:eth1", "b:eth1"), L("b:eth2", "d:eth1"), L("b:eth3", "d:eth2")],
        };
        await using var lab = await LabUnderTest.RequireAsync(v1, TestLabs.TinyImage);
        var s1 = await lab.DeployAsync();
        var s2 = await lab.ApplyAsync(v2);
        Assert.Equal(LabState.Running, s2.State);
        Assert.Equal(["a", "b", "d"], s2.Nodes.Select(n => n.Name));
        Assert.Equal(s1.Node("b").ContainerId, s2.Node("b").ContainerId);
        Assert.Equal(s1.Node("b").Pid, s2.Node("b").Pid);
        Assert.NotEqual(s1.Node("a").ContainerId, s2.Node("a").ContainerId);
        Assert.Equal(["eth0", "eth1", "eth2", "eth3"], s2.Node("b").Interfaces.Select(i => i.Name));
        Assert.Equal("d:eth1", s2.Node("b").Interfaces.Single(i => i.Name == "eth2").Peer);
        Assert.All(s2.Links, l => Assert.True(l.Up, $"{l.Key} is not up"));
        var removedLink = L("b:eth2", "c:eth1");
        var hostNames = (await lab.Net.ListLinksAsync(null, TestLabs.Ct)).Select(l => l.Name).ToHashSet();
        Assert.DoesNotContain(Ltb.Runtime.Nodes.Names.HostVeth(name, removedLink, 'a'), hostNames);
        Assert.DoesNotContain(Ltb.Runtime.Nodes.Names.LinuxBridge(name, removedLink), hostNames);
        Assert.DoesNotContain(Ltb.Runtime.Nodes.Names.Netns(name, "c"), lab.Net.ListNamespaces());
        Assert.DoesNotContain(await lab.Runtime.ListLabsAsync(TestLabs.Ct), l => l == $"{name}-c");
        // b kept running: it now knows d by name and no longer c.
        var ping = await lab.Engine.ExecAsync(Ltb.Runtime.Nodes.Names.Container(name, "b"), ["ping", "-c", "1", "-W", "2", "d"], TimeSpan.FromSeconds(10), TestLabs.Ct);
        Assert.True(ping.Succeeded, ping.Stdout + ping.Stderr);
        var hosts = await lab.Engine.ExecAsync(Ltb.Runtime.Nodes.Names.Container(name, "b"), ["cat", "/etc/hosts"], TimeSpan.FromSeconds(10), TestLabs.Ct);
        Assert.DoesNotMatch(@"\sc(\s|$)", hosts.Stdout);
        Assert.Contains("localhost", hosts.Stdout);
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
    }

    [Fact]
    public async Task A_retried_deployment_keeps_a_lab_deployed_from_the_same_plan_and_redeploys_anything_else()
    {
        var name = TestLabs.UniqueName("conv");
        await using var lab = await LabUnderTest.RequireAsync(
            new LabPlan { LabName = name, Nodes = [TestLabs.Tiny("a"), TestLabs.Tiny("b")], Links = [L("a:eth1", "b:eth1")] }, TestLabs.TinyImage);
        var retry = new DeployOptions { Converge = true };
        var first = await lab.DeployAsync();
        // Without Converge a second deployment of the name is refused.
        var refused = await Assert.ThrowsAsync<LabRuntimeException>(() => lab.DeployAsync());
        Assert.Contains("already deployed on this host", refused.Message);

        // The earlier attempt finished (its answer was lost): the retry keeps the lab, nothing restarts.
        var kept = await lab.DeployAsync(retry);
        Assert.Equal(LabState.Running, kept.State);
        Assert.Equal(first.Nodes.Select(n => (n.ContainerId, n.Pid)), kept.Nodes.Select(n => (n.ContainerId, n.Pid)));

        // A node went missing (or the plan differs): the retry removes what is there and deploys the whole plan.
        await lab.Engine.Client.Containers.RemoveContainerAsync(first.Node("b").ContainerId!,
            new global::Docker.DotNet.Models.ContainerRemoveParameters { Force = true }, TestLabs.Ct);
        var redeployed = await lab.DeployAsync(retry);
        Assert.Equal(LabState.Running, redeployed.State);
        Assert.NotEqual(first.Node("a").ContainerId, redeployed.Node("a").ContainerId);
        Assert.All(redeployed.Links, l => Assert.True(l.Up, $"{l.Key} is not up"));
        var ping = await lab.Engine.ExecAsync(Ltb.Runtime.Nodes.Names.Container(name, "a"), ["ping", "-c", "1", "-W", "2", "b"], TimeSpan.FromSeconds(10), TestLabs.Ct);
        Assert.True(ping.Succeeded, ping.Stdout + ping.Stderr);
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
    }
}
