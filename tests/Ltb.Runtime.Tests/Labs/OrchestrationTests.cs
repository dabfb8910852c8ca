using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Runtime.Tests.Support;
using Ltb.Topology.Catalog;

namespace Ltb.Runtime.Tests.Labs;

/// <summary>
/// The orchestration (deploy, apply, destroy, inspect, node operations) on a fake host: a node driver and host network
/// in memory (<see cref="FakeHost"/>), no Docker, no namespaces. What it proves: the order of waves, what a failed
/// deploy keeps or removes, what an apply touches, and that nodes no driver runs are refused before anything exists.
/// </summary>
public sealed class OrchestrationTests
{
    private static NodePlan N(string name, params string[] exec) =>
        new() { Name = name, Image = "fake:1", Exec = exec.Select(ExecCommand.Sh).ToList() };

    private static LinkPlan L(string a, string b) =>
        new() { A = new LinkEndpoint(a.Split(':')[0], a.Split(':')[1]), B = new LinkEndpoint(b.Split(':')[0], b.Split(':')[1]) };

    private static int At(IReadOnlyList<string> journal, string entry)
    {
        var i = journal.ToList().FindIndex(e => e.StartsWith(entry, StringComparison.Ordinal));
        Assert.True(i >= 0, $"'{entry}' is not in the journal:\n{string.Join('\n', journal)}");
        return i;
    }

    [Fact]
    public async Task Waves_start_by_stage_then_wait_for_depth_and_links_and_exec_follow_their_ends()
    {
        var host = new FakeHost();
        var lab = TestLabs.UniqueName("waves");
        var plan = new LabPlan
        {
            LabName = lab,
            Nodes =
            [
                N("a", "echo a"),
                N("b", "echo b") with { WaitFor = ["a"] },
                // container:b shares b's namespace: the planner makes it wait for b.
                N("c", "echo c") with { NetworkMode = "container:b", WaitFor = ["b"] },
                N("d", "echo d") with { Stage = 1 },
                N("e", "echo e"),
            ],
            Links = [L("e:eth1", "d:eth1")],
        };
        var status = await host.Runtime.DeployAsync(plan, null, new DeployOptions { MaxParallelism = 2 }, TestLabs.Ct);
        var j = host.Journal;

        Assert.Equal(LabState.Running, status.State);
        Assert.Equal(["a", "b", "c", "d", "e"], status.Nodes.Select(n => n.Name));
        var firstStart = j.ToList().FindIndex(e => e.StartsWith("start ", StringComparison.Ordinal));
        Assert.All(plan.Nodes, n => Assert.True(At(j, $"create {n.Name}") < firstStart, $"{n.Name} was created after the first start"));
        // Stage 0, depth 0 (a, e) -> depth 1 (b) -> depth 2 (c) -> stage 1 (d); each wave after the previous one's exec.
        Assert.True(At(j, "start a") < At(j, "exec a") && At(j, "exec a") < At(j, "start b"));
        Assert.True(At(j, "start e") < At(j, "start b"));
        Assert.True(At(j, "exec b") < At(j, "start c") && At(j, "exec c") < At(j, "start d"));
        // A namespace is pinned after its node started; a link is made once both ends are pinned; e's exec waits for its link.
        Assert.True(At(j, "start d") < At(j, $"net [host] netns attach {Names.Netns(lab, "d")}"));
        var link = At(j, $"net [host] link add eth1 netns {Names.Netns(lab, "e")}");
        Assert.True(At(j, $"net [host] netns attach {Names.Netns(lab, "d")}") < link);
        Assert.True(link < At(j, "exec e") && At(j, "exec d") > link);
        // c shares b's network: not on the management network; the others got their eth0 from LTB.
        Assert.DoesNotContain(j, e => e.Contains($"link set {Names.MgmtHostVeth(lab, "c")} master", StringComparison.Ordinal));
        Assert.Contains(j, e => e.Contains($"link set {Names.MgmtHostVeth(lab, "a")} master", StringComparison.Ordinal));

        await host.Runtime.DestroyAsync(lab, null, TestLabs.Ct);
        Assert.Empty(host.LeftOf(lab));
    }

    [Fact]
    public async Task A_failing_node_with_keep_leaves_the_lab_failed_for_inspection_and_destroy_removes_it_all()
    {
        var host = new FakeHost();
        var lab = TestLabs.UniqueName("keep");
        host.Driver.ExitAfterStart["n2"] = 3;
        var plan = new LabPlan { LabName = lab, Nodes = [N("n1"), N("n2")], Links = [L("n1:eth1", "n2:eth1")] };

        var e = await Assert.ThrowsAsync<LabRuntimeException>(() =>
            host.Runtime.DeployAsync(plan, null, new DeployOptions { OnFailure = FailurePolicy.KeepFailed }, TestLabs.Ct));

        Assert.Equal("n2", e.Node);
        Assert.Contains(lab, e.Message);
        Assert.Contains("exit code 3", e.Message);
        Assert.Equal(LabState.Failed, e.Status?.State);
        var status = await host.Runtime.InspectAsync(lab, TestLabs.Ct);
        Assert.Equal(LabState.Failed, status.State);
        Assert.Contains("n2", status.Error);
        Assert.Equal(NodeState.Running, status.Node("n1").State);
        Assert.Equal(NodeState.Exited, status.Node("n2").State);
        Assert.NotEmpty(host.LeftOf(lab)); // nodes, namespaces, the network and the record stay to be looked at

        await host.Runtime.DestroyAsync(lab, null, TestLabs.Ct);
        Assert.Empty(host.LeftOf(lab));
        Assert.Equal(LabState.Absent, (await host.Runtime.InspectAsync(lab, TestLabs.Ct)).State);
    }

    [Fact]
    public async Task A_failing_node_with_rollback_leaves_nothing()
    {
        var host = new FakeHost();
        var lab = TestLabs.UniqueName("rollback");
        host.Driver.FailStart["b"] = "the engine refused to start it";
        var plan = new LabPlan
        {
            LabName = lab,
            Nodes = [N("a"), N("b") with { WaitFor = ["a"] }, N("c") with { WaitFor = ["b"] }],
            Links = [L("a:eth1", "b:eth1")],
        };
        var events = new List<RuntimeEvent>();

        var e = await Assert.ThrowsAsync<LabRuntimeException>(() =>
            host.Runtime.DeployAsync(plan, new SyncProgress(events), new DeployOptions { OnFailure = FailurePolicy.Rollback }, TestLabs.Ct));

        Assert.Equal("b", e.Node);
        Assert.Contains("the engine refused to start it", e.Message);
        Assert.Equal(LabState.Absent, e.Status?.State);
        Assert.Empty(host.LeftOf(lab));
        Assert.DoesNotContain(host.Journal, j => j == "start c"); // the wave after the failure never started
        Assert.Contains(events, ev => ev.Kind == RuntimeEventKind.Error && ev.Node == "b");
        Assert.Contains(events, ev => ev.Message == "rolling back");
    }

    [Fact]
    public async Task Apply_removes_recreates_and_adds_only_what_changed_and_running_nodes_learn_the_names()
    {
        var host = new FakeHost();
        var lab = TestLabs.UniqueName("apply");
        var v1 = new LabPlan { LabName = lab, Nodes = [N("a"), N("b"), N("c")], Links = [L("a:eth1", "b:eth1"), L("b:eth2", "c:eth1")] };
        var v2 = v1 with
        {
            Nodes = [N("a") with { Env = new Dictionary<string, string> { ["X"] = "1" } }, N("b"), N("d", "echo d")],
            Links = [L("a:eth1", "b:eth1"), L("b:eth2", "d:eth1")],
        };
        await host.Runtime.DeployAsync(v1, null, null, TestLabs.Ct);
        var store = new LabStateStore(host.State);
        var mgmtB = store.Load(lab)!.Mgmt!.Nodes["b"];
        var pidB = host.Driver.PidOf(lab, "b");
        var before = host.Journal.Count;

        var status = await host.Runtime.ApplyAsync(v2, null, null, TestLabs.Ct);
        var j = host.Journal.Skip(before).ToList();

        Assert.Equal(LabState.Running, status.State);
        Assert.Equal(["a", "b", "d"], host.Driver.Nodes(lab));
        Assert.Equal(pidB, host.Driver.PidOf(lab, "b"));
        Assert.DoesNotContain(j, e => e is "start b" or "remove b" or "create b" or "stop b");
        Assert.Contains("remove c", j);
        Assert.True(At(j, "remove a") < At(j, "create a"));
        Assert.True(At(j, "create d") < At(j, "start d") && At(j, "start d") < At(j, "exec d sh -c echo d"));
        Assert.Contains("names b", j);
        Assert.DoesNotContain(Names.Netns(lab, "c"), host.Net.ListNamespaces());
        Assert.DoesNotContain(Names.MgmtHostVeth(lab, "c"), host.Net.HostLinks.Keys);
        // The link to the removed node went, the unchanged a-b link was recreated with a, b-d is new.
        Assert.Contains(j, e => e == $"net [{Names.Netns(lab, "b")}] link del eth2");
        Assert.Contains(j, e => e.StartsWith($"net [host] link add eth2 netns {Names.Netns(lab, "b")}", StringComparison.Ordinal)
            && e.Contains($"peer name eth1 netns {Names.Netns(lab, "d")}", StringComparison.Ordinal));
        // Unchanged: b keeps its management address; the record holds the new plan.
        var record = store.Load(lab)!;
        Assert.Equal(LabPhase.Deployed, record.Phase);
        Assert.Equal(mgmtB, record.Mgmt!.Nodes["b"]);
        Assert.Equal(["a", "b", "d"], record.Plan.Nodes.Select(n => n.Name));

        await host.Runtime.DestroyAsync(lab, null, TestLabs.Ct);
        Assert.Empty(host.LeftOf(lab));
    }

    [Fact]
    public async Task A_node_no_registered_driver_runs_is_refused_before_anything_is_created_naming_node_and_runtime()
    {
        var host = new FakeHost();
        var lab = TestLabs.UniqueName("novm");
        var plan = new LabPlan { LabName = lab, Nodes = [N("r1") with { Runtime = NodeRuntime.Vm, Vm = new VmPlan("/var/lib/ltb/disks/r1.qcow2") }, N("pc")] };

        var e = await Assert.ThrowsAsync<LabRuntimeException>(() => host.Runtime.DeployAsync(plan, null, null, TestLabs.Ct));

        Assert.Equal("r1", e.Node);
        Assert.Contains("vm", e.Message);
        Assert.Contains("no driver", e.Message);
        Assert.Empty(host.Journal);
        Assert.Empty(host.LeftOf(lab));
        // What the host reports for placement: the catalog's kinds of its drivers' runtimes, no VM kind.
        var kinds = host.Runtime.Drivers.Kinds(NodeTypeCatalog.BuiltIn);
        var byName = NodeTypeCatalog.BuiltIn.Types.ToDictionary(t => t.Name);
        Assert.Equal(NodeTypeCatalog.BuiltIn.Types.Count(t => t.Runtime == NodeRuntime.Container), kinds.Count);
        Assert.All(kinds, k => Assert.Equal(NodeRuntime.Container, byName[k].Runtime));
    }

    [Fact]
    public async Task An_operation_a_driver_does_not_offer_names_node_and_runtime()
    {
        var host = new FakeHost();
        var lab = TestLabs.UniqueName("nostats");
        await host.Runtime.DeployAsync(new LabPlan { LabName = lab, Nodes = [N("n1")] }, null, null, TestLabs.Ct);

        var e = await Assert.ThrowsAsync<LabRuntimeException>(() => host.Runtime.NodeStatsAsync(lab, "n1", TestLabs.Ct));

        Assert.Equal("n1", e.Node);
        Assert.Contains("container node driver cannot report resource use", e.Message);
        await host.Runtime.DestroyAsync(lab, null, TestLabs.Ct);
    }
}
