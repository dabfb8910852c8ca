using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// Issue #15 for a lab that spans hosts, and a reset: frr01 pinned over two simulated hosts (as in
/// <see cref="SpanningLabTests"/>), the afternoon's work done, a snapshot taken (each node's state from its own host),
/// then more work that the snapshot does not have (a second route, the proof file removed). `ltb lab snapshot restore
/// --reset` puts the running lab back to the snapshot: the saved route, description and file are there, the later route
/// is gone, OSPF converges over the tunnels, each node on its pinned host. Destroyed and restored into a new lab, it spans
/// the two hosts again in the saved state.
/// </summary>
public sealed class SpanningSnapshotTests
{
    private const string LaterRoute = "ip route 10.98.0.0/24 Null0";

    [Fact]
    public async Task Frr01_over_two_hosts_is_reset_to_its_snapshot_and_restored_into_a_new_lab_on_both_hosts()
    {
        LabCluster.Require();
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await LabCluster.StartAsync(new LabClusterOptions
        {
            Hosts = 2,
            Images = ["quay.io/frrouting/frr:10.5.1", "wbitt/network-multitool:3.22.2"],
            AgentArgs = h => ["--tunnel-address", h.FabricAddress!.ToString()],
        });
        var (a, b) = (cluster.Hosts[0], cluster.Hosts[1]);
        var (folder, topology, _, pins) = await SpanningLabTests.PinnedFrr01Async(a, b, "ltb-span-snapshot-", ct);
        await cluster.LoginCliAsync();
        var lab = "spsnap" + Guid.NewGuid().ToString("N")[..6];
        var agents = () => $"\nagent A:\n{a.Agent?.Output}\nagent B:\n{b.Agent?.Output}";
        var deploy = await cluster.LtbAsync(null, "lab", "deploy", "-t", topology, "--name", lab);
        Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout + agents());
        var first = await Http.ReadAsync<LabDto>(await cluster.Admin.GetAsync($"/api/v1/labs/{lab}", ct), 200);
        await SnapshotScenario.WorkAsync(cluster.Admin, first.Id);

        var take = await cluster.LtbAsync(null, "lab", "snapshot", "create", lab, "afternoon");
        Assert.True(take.ExitCode == 0, take.Stderr + take.Stdout + agents());

        // Work after the snapshot, which a reset takes back.
        var later = await SnapshotScenario.ExecAsync(cluster.Admin, first.Id, "router1", "vtysh", "-c", "configure terminal", "-c", LaterRoute);
        Assert.True(later.ExitCode == 0, later.Stdout + later.Stderr);
        Assert.Contains(LaterRoute, await SnapshotScenario.RunningConfigAsync(cluster.Admin, first.Id));
        var removed = await SnapshotScenario.ExecAsync(cluster.Admin, first.Id, "PC1", "rm", SnapshotScenario.ProofFile);
        Assert.True(removed.ExitCode == 0, removed.Stderr);

        var reset = await cluster.LtbAsync(null, "lab", "snapshot", "restore", $"{lab}/afternoon", "--name", lab, "--reset");
        Assert.True(reset.ExitCode == 0, reset.Stderr + reset.Stdout + agents());
        var back = await Http.ReadAsync<LabDto>(await cluster.Admin.GetAsync($"/api/v1/labs/{lab}", ct), 200);
        await SnapshotScenario.AssertRestoredAsync(cluster.Admin, back.Id);
        Assert.DoesNotContain(LaterRoute, await SnapshotScenario.RunningConfigAsync(cluster.Admin, back.Id));
        await AssertPinnedAsync(back.RuntimeName, pins);

        var destroy = await cluster.LtbAsync(null, "lab", "destroy", lab);
        Assert.True(destroy.ExitCode == 0, destroy.Stderr + destroy.Stdout);
        var restoredName = lab + "r";
        var restore = await cluster.LtbAsync(null, "lab", "snapshot", "restore", $"{lab}/afternoon", "--name", restoredName);
        Assert.True(restore.ExitCode == 0, restore.Stderr + restore.Stdout + agents());
        var restored = await Http.ReadAsync<LabDto>(await cluster.Admin.GetAsync($"/api/v1/labs/{restoredName}", ct), 200);
        await SnapshotScenario.AssertRestoredAsync(cluster.Admin, restored.Id);
        await AssertPinnedAsync(restored.RuntimeName, pins);
        var gone = await cluster.LtbAsync(null, "lab", "destroy", restoredName);
        Assert.True(gone.ExitCode == 0, gone.Stderr + gone.Stdout);
        var delete = await cluster.LtbAsync(null, "lab", "snapshot", "delete", $"{lab}/afternoon");
        Assert.True(delete.ExitCode == 0, delete.Stderr + delete.Stdout);
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>Each host runs exactly the nodes pinned to it.</summary>
    private static async Task AssertPinnedAsync(string runtime, Dictionary<string, ClusterHost> pins)
    {
        foreach (var host in pins.Values.Distinct())
        {
            var names = (await host.Sim.DockerAsync("ps", "--format", "{{.Label \"org.ltb.node\"}}", "--filter", $"label=org.ltb.lab={runtime}")).Stdout
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal);
            Assert.Equal(pins.Where(p => p.Value == host).Select(p => p.Key).Order(StringComparer.Ordinal), names);
        }
    }
}
