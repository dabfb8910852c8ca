using System.Net.Http.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;

namespace Ltb.Server.Tests.Cli;

/// <summary>
/// `ltb host prune`: a lab left on this host by a controller whose data folder is gone is listed by --dry-run (which
/// changes nothing) and removed by prune, down to its last interface and namespace; a lab the host's controller knows
/// is never touched. Other engineers' labs share this engine: every prune here is limited to the test's own prefix.
/// </summary>
public sealed class HostPruneTests(SqliteServer controller) : IClassFixture<SqliteServer>
{
    [Fact]
    public async Task A_lab_of_a_lost_controller_is_listed_then_removed_and_a_known_lab_stays()
    {
        LabTestSupport.RequireDocker();
        Prerequisite.RequireRoot();
        var prefix = ServerFixture.Unique("prune");
        // The host's controller deploys one lab and keeps its data.
        await using var known = await ServerLab.RunAsync(controller.Admin, LabTestSupport.TinyLab($"{prefix}k"));

        // Another controller deploys a lab with OVS bridges (host interfaces, bridges, namespaces), then goes, and its
        // data folder with it: nothing knows that lab any more.
        string orphan;
        var lost = new SqliteServer();
        await lost.InitializeAsync();
        var lostData = lost.DataDirectory;
        try
        {
            var accepted = await LabTestSupport.DeployAsync(lost.Admin, LabTestSupport.TinyLab($"{prefix}o"), linkBackend: "ovs");
            var task = await LabTestSupport.WaitAsync(lost.Admin, accepted.Task.Id);
            Assert.True(task.State == "succeeded", string.Join('\n', task.Log));
            orphan = accepted.Lab.RuntimeName;
        }
        finally
        {
            await lost.DisposeAsync();   // stops the server and deletes its data folder; the lab keeps running
        }
        try
        {
            await PruneAndCheckAsync(prefix, orphan, known, lostData);
        }
        finally
        {
            // A failed assertion must not leave the lost lab on the shared engine.
            await HostCommand.LtbAsync("host", "prune", "--data", controller.DataDirectory, "--lab-prefix", prefix);
        }
    }

    private async Task PruneAndCheckAsync(string prefix, string orphan, ServerLab known, string lostData)
    {
        Assert.False(Directory.Exists(lostData), "the lost controller's data folder is gone");
        var before = await HostStateAsync(orphan);
        Assert.True(before.Containers == 2 && before.Interfaces > 0 && before.Namespaces == 2 && before.OvsBridges == 1,
            $"the lost lab holds its nodes, OVS bridge, ports and namespaces: {before}");

        var dry = (await HostCommand.LtbAsync("host", "prune", "--data", controller.DataDirectory, "--lab-prefix", prefix, "--dry-run"))
            .EnsureSuccess("ltb host prune --dry-run");
        Assert.Contains($"would remove lab {orphan}:", dry.Stdout);
        Assert.Contains("node a (container ", dry.Stdout);
        Assert.Contains($"interface le", dry.Stdout);
        Assert.Contains($"network ", dry.Stdout);
        Assert.Contains($"namespace ltb-{orphan}-b", dry.Stdout);
        Assert.Contains("ovs-bridge lo", dry.Stdout);
        Assert.Contains($"keep   lab {known.RuntimeName} (the controller knows it", dry.Stdout);
        Assert.DoesNotContain($"remove lab {known.RuntimeName}", dry.Stdout);
        Assert.Contains("dry run: 1 lab(s) would be removed, nothing was changed", dry.Stdout);
        Assert.Equal(before, await HostStateAsync(orphan));

        var pruned = (await HostCommand.LtbAsync("host", "prune", "--data", controller.DataDirectory, "--lab-prefix", prefix))
            .EnsureSuccess("ltb host prune");
        Assert.Contains($"remove lab {orphan}:", pruned.Stdout);
        Assert.Contains("removed 1 lab(s)", pruned.Stdout);
        Assert.Equal(new HostState(0, 0, 0, 0, 0), await HostStateAsync(orphan));

        // The known lab was not touched: its nodes still reach each other over its link.
        var ping = await Http.ReadAsync<ExecResponse>(await controller.Admin.PostAsJsonAsync($"/api/v1/labs/{known.Name}/exec",
            new ExecRequest("a", ["ping", "-c", "1", "-W", "2", "10.0.0.2"])), 200);
        Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);
        var again = (await HostCommand.LtbAsync("host", "prune", "--data", controller.DataDirectory, "--lab-prefix", prefix))
            .EnsureSuccess("a second ltb host prune");
        Assert.Contains("nothing to remove", again.Stdout);
    }

    [Fact]
    public async Task Prune_refuses_a_database_it_cannot_read_and_names_what_to_give()
    {
        var result = await HostCommand.LtbAsync("host", "prune", "--database", "postgres",
            "--connection-string", "Host=127.0.0.1;Port=1;Database=none;Username=none;Password=none;Timeout=2", "--dry-run");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("the controller's database could not be read", result.Stderr);
        Assert.Contains("--agent-data on a remote host", result.Stderr);
    }

    private sealed record HostState(int Containers, int Networks, int Namespaces, int Interfaces, int OvsBridges);

    /// <summary>What the host holds of one lab, by the marks LTB puts on its objects.</summary>
    private static async Task<HostState> HostStateAsync(string lab)
    {
        var engineObjects = await LabTestSupport.LeftoversAsync(lab);
        var containers = await LabTestSupport.ContainersAsync(lab);
        var namespaces = Directory.Exists("/run/netns") ? Directory.GetFiles("/run/netns", $"ltb-{lab}-*").Length : 0;
        var links = (await HostCommand.RunAsync("ip", "-o", "-d", "link", "show")).Stdout;
        var interfaces = links.Split('\n').Count(l => l.Contains($"alias ltb/{lab}/", StringComparison.Ordinal));
        var bridges = (await HostCommand.RunAsync("ovs-vsctl", "--bare", "--columns=name", "find", "bridge", $"external_ids:ltb-lab={lab}"))
            .Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        return new HostState(containers, engineObjects - containers - namespaces, namespaces, interfaces, bridges);
    }
}
