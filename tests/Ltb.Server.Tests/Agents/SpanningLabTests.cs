using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;
using Microsoft.Data.Sqlite;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// Issue 6, "done when": frr01 from the containerlab corpus with its nodes pinned (label ltb.host) to two simulated hosts,
/// deployed with `ltb lab deploy` through the controller. The links between the hosts are VXLAN tunnels over the hosts'
/// fabric: OSPF converges across them, PC1 pings PC3 (whose link to its router is itself a tunnel), the documented MTU
/// (fabric 1500 - 50) passes with DF and one byte more does not; a restarted agent keeps its part of the lab; destroying
/// leaves nothing on either host and frees the VNIs. A reconfigure adds a node on one host cabled to a node on the other.
/// </summary>
public sealed partial class SpanningLabTests
{
    private const string Frr = "quay.io/frrouting/frr:10.5.1";
    private const string Tools = "wbitt/network-multitool:3.22.2";
    private static readonly TimeSpan Convergence = TimeSpan.FromMinutes(4);

    [GeneratedRegex("\"nbrState\"\\s*:\\s*\"Full")]
    private static partial Regex FullNeighbor();

    [Fact]
    public async Task Frr01_pinned_over_two_hosts_converges_over_vxlan_pings_across_and_destroy_leaves_nothing()
    {
        LabCluster.Require();
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await LabCluster.StartAsync(new LabClusterOptions
        {
            Hosts = 2,
            Images = [Frr, Tools],
            AgentArgs = h => ["--tunnel-address", h.FabricAddress!.ToString()],
        });
        var (a, b) = (cluster.Hosts[0], cluster.Hosts[1]);
        // router1 and router3 (and PC1) on A, router2, PC2 and PC3 on B: r1-r2, r2-r3 and PC3-r3 cross the hosts.
        var (folder, topology, text, pins) = await PinnedFrr01Async(a, b, "ltb-span-frr01-", ct);

        await cluster.LoginCliAsync();
        var lab = "span" + Guid.NewGuid().ToString("N")[..6];
        var clock = Stopwatch.StartNew();
        var deploy = await cluster.LtbAsync(null, "lab", "deploy", "-t", topology, "--name", lab);
        var deployed = clock.Elapsed;
        Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout + "\nagent A:\n" + a.Agent?.Output + "\nagent B:\n" + b.Agent?.Output);
        var dto = await Http.ReadAsync<LabDto>(await cluster.Admin.GetAsync($"/api/v1/labs/{lab}", ct), 200);
        var runtime = dto.RuntimeName;
        TimeSpan converged = default;
        try
        {
            Assert.Equal("running", dto.State);
            Assert.Equal(6, dto.Nodes.Count);
            Assert.All(dto.Nodes, n => Assert.Equal("running", n.State));
            // The links as written: three within a host, three tunnels shown as the link between their two nodes.
            Assert.Equal(6, dto.Links.Count);
            Assert.All(dto.Links, l => Assert.Equal("up", l.State));
            Assert.Equal(["PC3:eth1=router3:eth3", "router1:eth1=router2:eth1", "router2:eth2=router3:eth2"],
                dto.Links.Where(l => l.Type == "vxlan").Select(l => $"{l.A}={l.B}").Order(StringComparer.Ordinal));
            Assert.Equal("router3:eth3", dto.Nodes.Single(n => n.Name == "PC3").Interfaces.Single(i => i.Name == "eth1").Peer);
            // Each host runs its own nodes.
            foreach (var host in new[] { a, b })
            {
                var names = (await host.Sim.DockerAsync("ps", "--format", "{{.Label \"org.ltb.node\"}}", "--filter", $"label=org.ltb.lab={runtime}")).Stdout
                    .Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal);
                Assert.Equal(pins.Where(p => p.Value == host).Select(p => p.Key).Order(StringComparer.Ordinal), names);
            }
            // A VNI per cross-host link, unique; the tunnels live in the nodes, none in the hosts' own namespaces.
            Assert.Equal(3, (await TunnelsAsync(cluster)).Distinct().Count());
            foreach (var host in new[] { a, b })
            {
                Assert.Equal("", (await host.Sim.Inside("ip", "-d", "link", "show", "type", "vxlan")).EnsureSuccess("ip link").Stdout.Trim());
            }
            var r3eth3 = await ExecAsync(cluster, lab, "router3", "cat", "/sys/class/net/eth3/mtu");
            Assert.Equal("1450", r3eth3.Stdout.Trim()); // the fabric's 1500 minus the VXLAN overhead (50)
            var r3vx = await HostCommand.RunAsync("ip", "-n", $"ltb-{runtime}-router3", "-d", "link", "show", "eth3");
            Assert.Contains("vxlan id", r3vx.Stdout);

            // OSPF over the tunnels: every router has its two neighbours Full.
            var deadline = DateTime.UtcNow + Convergence;
            foreach (var router in new[] { "router1", "router2", "router3" })
            {
                var full = 0;
                string last = "";
                while (DateTime.UtcNow < deadline)
                {
                    var r = await ExecAsync(cluster, lab, router, "vtysh", "-c", "show ip ospf neighbor json");
                    last = r.Stdout;
                    full = r.ExitCode == 0 ? FullNeighbor().Count(r.Stdout) : 0;
                    if (full >= 2)
                    {
                        break;
                    }
                    await Task.Delay(TimeSpan.FromSeconds(3), ct);
                }
                if (full < 2)
                {
                    Assert.Fail($"{router} has {full} full OSPF neighbours after {Convergence}: {last}\n{await DiagnoseAsync(cluster, lab, runtime)}");
                }
            }
            converged = clock.Elapsed;

            // PC1 (host A) -> PC3 (host B), retried while the routes reach the kernels.
            var ping = await ExecAsync(cluster, lab, "PC1", "ping", "-c", "2", "-W", "2", "192.168.13.2");
            for (var attempt = 1; attempt < 10 && ping.ExitCode != 0; attempt++)
            {
                await Task.Delay(TimeSpan.FromSeconds(3), ct);
                ping = await ExecAsync(cluster, lab, "PC1", "ping", "-c", "2", "-W", "2", "192.168.13.2");
            }
            Assert.True(ping.ExitCode == 0, $"PC1 -> PC3: {ping.Stdout}{ping.Stderr}");
            // The documented MTU: 1450 bytes of IP (1422 of ICMP payload) cross with DF; 1451 do not.
            var fits = await ExecAsync(cluster, lab, "PC1", "ping", "-c", "2", "-W", "2", "-M", "do", "-s", "1422", "192.168.13.2");
            Assert.True(fits.ExitCode == 0, $"a 1450-byte DF ping PC1 -> PC3 failed: {fits.Stdout}{fits.Stderr}");
            var tooBig = await ExecAsync(cluster, lab, "PC1", "ping", "-c", "2", "-W", "2", "-M", "do", "-s", "1423", "192.168.13.2");
            Assert.True(tooBig.ExitCode != 0, $"a 1451-byte DF ping PC1 -> PC3 crossed a 1450 tunnel: {tooBig.Stdout}");

            // Host B holds a part of a lab whose tasks run on A: after its agent restarts and reports its labs, the
            // reconciler must not take that part for an orphan.
            await b.RestartAgentAsync();
            await Task.Delay(TimeSpan.FromSeconds(4), ct);
            var onB = (await b.Sim.DockerAsync("ps", "-q", "--filter", $"label=org.ltb.lab={runtime}")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, onB.Length);
            Assert.Equal("running", (await Http.ReadAsync<LabDto>(await cluster.Admin.GetAsync($"/api/v1/labs/{lab}", ct), 200)).State);
            var after = await ExecAsync(cluster, lab, "PC3", "ping", "-c", "2", "-W", "2", "192.168.11.2");
            Assert.True(after.ExitCode == 0, $"PC3 -> PC1 after B's agent restarted: {after.Stdout}{after.Stderr}");

            // Reconfigure across the hosts: PC4, pinned to A, is cabled to PC2 on B (a new tunnel with a VNI of its own);
            // the other nodes keep running.
            var startedBefore = await StartedAtAsync(b, runtime, "PC2");
            await File.WriteAllTextAsync(topology, text
                .Replace("  links:\n", $"    PC4:\n      group: hosts\n      labels: {{ltb.host: {a.Name}}}\n  links:\n    - endpoints: [\"PC4:eth1\", \"PC2:eth2\"]\n", StringComparison.Ordinal), ct);
            var reconfigure = await cluster.LtbAsync(null, "lab", "deploy", "-t", topology, "--name", lab, "--reconfigure");
            Assert.True(reconfigure.ExitCode == 0, reconfigure.Stderr + reconfigure.Stdout);
            dto = await Http.ReadAsync<LabDto>(await cluster.Admin.GetAsync($"/api/v1/labs/{lab}", ct), 200);
            Assert.Equal(("running", 7), (dto.State, dto.Nodes.Count));
            Assert.Equal(new[] { (a.Name, 4), (b.Name, 3) }.Order(), dto.Hosts!.Select(h => (h.Name, h.Nodes)).Order());
            Assert.Equal(4, (await TunnelsAsync(cluster)).Distinct().Count());
            Assert.Equal(startedBefore, await StartedAtAsync(b, runtime, "PC2"));
            Assert.Equal(0, (await ExecAsync(cluster, lab, "PC2", "sh", "-c", "ip link set eth2 up && ip addr add 10.99.0.2/30 dev eth2")).ExitCode);
            Assert.Equal(0, (await ExecAsync(cluster, lab, "PC4", "sh", "-c", "ip link set eth1 up && ip addr add 10.99.0.1/30 dev eth1")).ExitCode);
            var across = await ExecAsync(cluster, lab, "PC4", "ping", "-c", "2", "-W", "2", "10.99.0.2");
            Assert.True(across.ExitCode == 0, $"PC4 (A) -> PC2 (B) over the added tunnel: {across.Stdout}{across.Stderr}");
        }
        finally
        {
            var destroy = await cluster.LtbAsync(null, "lab", "destroy", lab);
            Assert.True(destroy.ExitCode == 0, destroy.Stderr + destroy.Stdout);
            Directory.Delete(folder, recursive: true);
        }
        foreach (var host in new[] { a, b })
        {
            Assert.Equal("", (await host.Sim.DockerAsync("ps", "-aq")).Stdout.Trim());
            Assert.Equal("", (await host.Sim.Inside("ip", "-d", "link", "show", "type", "vxlan")).Stdout.Trim());
            Assert.DoesNotContain((await host.Sim.Inside("ip", "-d", "link", "show", "type", "veth")).Stdout.Split('\n'),
                l => l.Contains("ltb/", StringComparison.Ordinal));
        }
        Assert.Empty(Directory.Exists("/run/netns") ? Directory.GetFiles("/run/netns", $"ltb-{runtime}-*") : []);
        Assert.Empty(await TunnelsAsync(cluster));
        TestContext.Current.SendDiagnosticMessage($"frr01 over two hosts: deployed in {deployed.TotalSeconds:0.0} s, OSPF full at {converged.TotalSeconds:0.0} s, total {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>What a failed convergence needs to be understood: each router's links (VXLAN ends with their counters) and the fabric.</summary>
    private static async Task<string> DiagnoseAsync(LabCluster cluster, string lab, string runtime)
    {
        var report = new System.Text.StringBuilder();
        foreach (var router in new[] { "router1", "router2", "router3" })
        {
            var links = await HostCommand.RunAsync("ip", "-n", $"ltb-{runtime}-{router}", "-d", "-s", "link", "show");
            var ospf = await ExecAsync(cluster, lab, router, "vtysh", "-c", "show ip ospf interface");
            report.Append($"--- {router}: links\n{links.Stdout}{links.Stderr}\n--- {router}: ospf interfaces\n{ospf.Stdout}{ospf.Stderr}\n");
        }
        foreach (var host in cluster.Hosts)
        {
            var fabric = await host.Sim.Inside("ip", "-s", "link", "show");
            report.Append($"--- host {host.Name}\n{fabric.Stdout}\n");
        }
        return report.ToString();
    }

    private static async Task<string> StartedAtAsync(ClusterHost host, string runtime, string node) =>
        (await host.Sim.DockerAsync("inspect", "-f", "{{.State.StartedAt}}", $"ltb-{runtime}-{node}")).Stdout.Trim();

    private static async Task<ExecResponse> ExecAsync(LabCluster cluster, string lab, string node, params string[] command) =>
        await Http.ReadAsync<ExecResponse>(await cluster.Admin.PostAsJsonAsync($"/api/v1/labs/{lab}/exec", new ExecRequest(node, command)), 200);

    /// <summary>The VNIs the controller has handed out (its SQLite store).</summary>
    private static async Task<List<int>> TunnelsAsync(LabCluster cluster)
    {
        await using var db = new SqliteConnection($"Data Source={Path.Combine(cluster.Data, "ltb.db")};Mode=ReadOnly");
        await db.OpenAsync();
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT Vni FROM LabTunnels";
        var vnis = new List<int>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            vnis.Add(reader.GetInt32(0));
        }
        return vnis;
    }

    /// <summary>
    /// frr01 from the corpus in a fresh temporary folder, its routers 1 and 3 and PC1 pinned to <paramref name="a"/> and the
    /// rest to <paramref name="b"/>: the folder, the topology's path, its text and the pins.
    /// </summary>
    internal static async Task<(string Folder, string Topology, string Text, Dictionary<string, ClusterHost> Pins)> PinnedFrr01Async(ClusterHost a, ClusterHost b, string prefix,
        CancellationToken ct)
    {
        var pins = new Dictionary<string, ClusterHost> { ["router1"] = a, ["router3"] = a, ["PC1"] = a, ["router2"] = b, ["PC2"] = b, ["PC3"] = b };
        var folder = Directory.CreateTempSubdirectory(prefix).FullName;
        CopyFolder(Path.Combine(Repo.ContainerlabCorpus, "frr01"), folder);
        var topology = Path.Combine(folder, "frr01.clab.yml");
        var text = await File.ReadAllTextAsync(topology, ct);
        foreach (var (node, host) in pins)
        {
            text = text.Replace($"    {node}:\n", $"    {node}:\n      labels: {{ltb.host: {host.Name}}}\n", StringComparison.Ordinal);
        }
        await File.WriteAllTextAsync(topology, text, ct);
        return (folder, topology, text, pins);
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
