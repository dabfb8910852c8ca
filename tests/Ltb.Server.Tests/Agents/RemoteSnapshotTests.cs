using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// Issue #15 through a remote (simulated) host's `ltb agent`, driven by the CLI: frr01 deployed there, the work done, the
/// snapshot taken (the nodes' states cross the agent's gRPC stream into the controller's store), the lab destroyed, and a
/// new lab restored on that host from the controller's copy (the node archives travel with the lab's files): the route,
/// the description and the file are there and OSPF converges. Then the snapshot is deleted.
/// </summary>
public sealed class RemoteSnapshotTests
{
    [Fact]
    public async Task Frr01_on_a_remote_host_is_snapshotted_destroyed_and_restored_there_through_the_cli()
    {
        LabCluster.Require();
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await LabCluster.StartAsync(new LabClusterOptions
        {
            Images = ["quay.io/frrouting/frr:10.5.1", "wbitt/network-multitool:3.22.2"],
        });
        var host = cluster.Hosts[0];
        await cluster.LoginCliAsync();
        var lab = "rsnap" + Guid.NewGuid().ToString("N")[..6];
        var topology = Path.Combine(Repo.ContainerlabCorpus, "frr01", "frr01.clab.yml");
        var deploy = await cluster.LtbAsync(null, "lab", "deploy", "-t", topology, "--name", lab, "--host", host.Name);
        Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout + "\nagent:\n" + host.Agent?.Output);
        var first = await Http.ReadAsync<LabDto>(await cluster.Admin.GetAsync($"/api/v1/labs/{lab}", ct), 200);
        Assert.Equal(host.Name, first.Host);
        await SnapshotScenario.WorkAsync(cluster.Admin, first.Id);

        var take = await cluster.LtbAsync(null, "lab", "snapshot", "create", lab, "afternoon");
        Assert.True(take.ExitCode == 0, take.Stderr + take.Stdout + "\nagent:\n" + host.Agent?.Output);
        Assert.Contains($"snapshot '{lab}/afternoon' stored", take.Stdout);
        var list = await cluster.LtbAsync(null, "lab", "snapshot", "list", lab);
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Contains("afternoon", list.Stdout);
        Assert.Contains("ready", list.Stdout);
        var destroy = await cluster.LtbAsync(null, "lab", "destroy", lab);
        Assert.True(destroy.ExitCode == 0, destroy.Stderr + destroy.Stdout);

        var restoredName = lab + "r";
        var restore = await cluster.LtbAsync(null, "lab", "snapshot", "restore", $"{lab}/afternoon", "--name", restoredName, "--host", host.Name);
        Assert.True(restore.ExitCode == 0, restore.Stderr + restore.Stdout + "\nagent:\n" + host.Agent?.Output);
        var restored = await Http.ReadAsync<LabDto>(await cluster.Admin.GetAsync($"/api/v1/labs/{restoredName}", ct), 200);
        Assert.Equal(host.Name, restored.Host);
        await SnapshotScenario.AssertRestoredAsync(cluster.Admin, restored.Id);
        var gone = await cluster.LtbAsync(null, "lab", "destroy", restoredName);
        Assert.True(gone.ExitCode == 0, gone.Stderr + gone.Stdout);
        var delete = await cluster.LtbAsync(null, "lab", "snapshot", "delete", $"{lab}/afternoon");
        Assert.True(delete.ExitCode == 0, delete.Stderr + delete.Stdout);
        Assert.DoesNotContain(Directory.GetDirectories(Path.Combine(cluster.Data, "snapshots")), d => !Path.GetFileName(d).StartsWith('.'));
    }
}
