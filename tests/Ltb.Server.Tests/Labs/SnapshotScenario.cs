using System.Net.Http.Json;
using System.Text.Json;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// Issue #15's story on frr01, through the API: work done in a running lab (a static route and an interface description on
/// router1, a file in PC1's filesystem), and the proof that a lab restored from its snapshot has it all and converges.
/// Shared by the local (<see cref="SnapshotTests"/>) and remote-host (<c>Agents/RemoteSnapshotTests</c>) tests.
/// </summary>
internal static class SnapshotScenario
{
    public const string Route = "ip route 10.99.0.0/24 Null0";
    public const string Description = "description saved-by-snapshot";
    public const string ProofFile = "/root/snapshot-proof.txt";
    public const string ProofText = "saved in the afternoon";
    private static readonly TimeSpan Convergence = TimeSpan.FromMinutes(4);

    /// <summary>The afternoon's work: configured in FRR's shell (not in any file), and a file written in PC1.</summary>
    public static async Task WorkAsync(HttpClient client, Guid lab)
    {
        var deadline = DateTime.UtcNow + Convergence;
        while (true)
        {
            // FRR takes a while to start after a deployment: configure once vtysh reaches its daemons.
            var configured = await ExecAsync(client, lab, "router1", "vtysh", "-c", "configure terminal", "-c", Route,
                "-c", "interface eth1", "-c", Description);
            if (configured.ExitCode == 0 && (await RunningConfigAsync(client, lab)).Contains(Route, StringComparison.Ordinal))
            {
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, $"router1 could not be configured: {configured.Stdout}{configured.Stderr}");
            await Task.Delay(2000);
        }
        var written = await ExecAsync(client, lab, "PC1", "sh", "-c", $"mkdir -p /root && printf '%s' '{ProofText}' > {ProofFile}");
        Assert.True(written.ExitCode == 0, written.Stderr);
    }

    /// <summary>The restored lab has the route, the description and the file, and OSPF converges: PC1 reaches PC3.</summary>
    public static async Task AssertRestoredAsync(HttpClient client, Guid lab)
    {
        // FRR's daemons start a while after the node: its running configuration is read once vtysh reaches them.
        var deadline = DateTime.UtcNow + Convergence;
        var config = await RunningConfigAsync(client, lab);
        while (!config.Contains("router ospf", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(2000);
            config = await RunningConfigAsync(client, lab);
        }
        Assert.Contains(Route, config);
        Assert.Contains(Description, config);
        var proof = await ExecAsync(client, lab, "PC1", "cat", ProofFile);
        Assert.True(proof.ExitCode == 0, $"PC1 lost its file: {proof.Stderr}");
        Assert.Equal(ProofText, proof.Stdout);
        await WaitForOspfAsync(client, lab);
        // router1 has converged; the others may still be installing their routes back to PC1.
        deadline = DateTime.UtcNow + Convergence;
        var ping = await ExecAsync(client, lab, "PC1", "ping", "-c", "2", "-W", "2", "192.168.13.2");
        while (ping.ExitCode != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(3000);
            ping = await ExecAsync(client, lab, "PC1", "ping", "-c", "2", "-W", "2", "192.168.13.2");
        }
        Assert.True(ping.ExitCode == 0, $"PC1 does not reach PC3: {ping.Stdout}{ping.Stderr}");
    }

    /// <summary>router1 learns PC2's and PC3's subnets from OSPF (both other routers are its neighbours).</summary>
    public static async Task WaitForOspfAsync(HttpClient client, Guid lab)
    {
        var deadline = DateTime.UtcNow + Convergence;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var r = await ExecAsync(client, lab, "router1", "vtysh", "-c", "show ip route ospf json");
            last = r.Stdout + r.Stderr;
            if (r.ExitCode == 0 && r.Stdout.TrimStart().StartsWith('{'))
            {
                using var doc = JsonDocument.Parse(r.Stdout);
                var routes = doc.RootElement.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
                if (routes.Contains("192.168.12.0/24") && routes.Contains("192.168.13.0/24"))
                {
                    return;
                }
            }
            await Task.Delay(3000);
        }
        Assert.Fail($"OSPF did not converge on router1 within {Convergence}: {last}");
    }

    public static async Task<string> RunningConfigAsync(HttpClient client, Guid lab) =>
        (await ExecAsync(client, lab, "router1", "vtysh", "-c", "show running-config")).Stdout;

    public static async Task<ExecResponse> ExecAsync(HttpClient client, Guid lab, string node, params string[] argv) =>
        await Http.ReadAsync<ExecResponse>(await client.PostAsJsonAsync($"/api/v1/labs/{lab}/exec", new ExecRequest(node, argv),
            TestContext.Current.CancellationToken), 200);

    /// <summary>Takes a snapshot through the API and waits for its task; returns the snapshot as listed afterwards.</summary>
    public static async Task<SnapshotDto> TakeAsync(HttpClient client, Guid lab, string name)
    {
        var accepted = await Http.ReadAsync<SnapshotAccepted>(await client.PostAsJsonAsync($"/api/v1/labs/{lab}/snapshots",
            new CreateSnapshotRequest(name), TestContext.Current.CancellationToken), 202);
        Assert.Equal("creating", accepted.Snapshot.State);
        var task = await LabTestSupport.WaitAsync(client, accepted.Task.Id);
        Assert.True(task.State == "succeeded", $"{task.Error}\n{string.Join('\n', task.Log)}");
        return await Http.ReadAsync<SnapshotDto>(await client.GetAsync($"/api/v1/snapshots/{accepted.Snapshot.Id}"), 200);
    }

    /// <summary>The deployment form of a restore: the snapshot, the new lab's name, optionally its host.</summary>
    public static MultipartFormDataContent RestoreForm(Guid snapshot, string name, string? host = null)
    {
        var form = new MultipartFormDataContent { { new StringContent(snapshot.ToString()), "snapshot" }, { new StringContent(name), "name" } };
        if (host is not null)
        {
            form.Add(new StringContent(host), "host");
        }
        return form;
    }
}
