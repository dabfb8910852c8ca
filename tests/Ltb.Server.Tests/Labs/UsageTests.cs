using System.Net;
using System.Net.Http.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// Issue #16's live resource usage, real: two nettools nodes on a veth link, a flood ping across it; the lab's usage
/// shows the pinging node's interface counters rising between samples and its CPU above idle, with the lab's sums; the
/// local host's usage (admins) counts the lab and its nodes, the machine's CPU, memory and disk; others are refused.
/// </summary>
public sealed class UsageTests(SqliteServer server) : IClassFixture<SqliteServer>
{
    private const string Topology = """
        name: use
        topology:
          nodes:
            a:
              kind: linux
              image: wbitt/network-multitool:3.22.2
              exec: ["ip addr add 10.9.0.1/24 dev eth1"]
            b:
              kind: linux
              image: wbitt/network-multitool:3.22.2
              exec: ["ip addr add 10.9.0.2/24 dev eth1"]
          links:
            - endpoints: ["a:eth1", "b:eth1"]
        """;

    [Fact]
    public async Task A_flood_ping_shows_in_the_lab_usage_as_rising_counters_and_cpu_and_the_host_usage_counts_the_lab()
    {
        LabTestSupport.RequireDocker();
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var student = await server.CreateUserAsync("use");
        var other = await server.CreateUserAsync("useo");
        using var owner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        using var stranger = await server.LoginAsync(other.UserName, ServerFixture.UserPassword);
        await using var lab = await ServerLab.RunAsync(owner, Topology.Replace("name: use", $"name: {ServerFixture.Unique("use")}", StringComparison.Ordinal));
        var usage = $"/api/v1/labs/{lab.Id}/usage";

        var first = await SampleAsync(owner, usage, u => u.Nodes.Count == 2 && u.Nodes.All(n => n.Interfaces.Any(i => i.Name == "eth1")));
        var txBefore = Eth1(first, "a").TxPackets;
        // A flood ping for ~30 s in the background: the node is busy and its link counts.
        var flood = owner.PostAsJsonAsync($"/api/v1/labs/{lab.Id}/exec",
            new ExecRequest("a", ["ping", "-f", "-w", "30", "-s", "1000", "10.9.0.2"], 60), ct);
        var busy = await SampleAsync(owner, usage, u => Eth1(u, "a").TxPackets > txBefore + 1000 && Node(u, "a").CpuPercent > 1);
        var later = await SampleAsync(owner, usage, u => u.Nodes[0].At > busy.Nodes[0].At);
        Assert.True(Eth1(later, "a").TxBytes > Eth1(busy, "a").TxBytes, "a's eth1 tx bytes rise between samples");
        Assert.True(Eth1(later, "b").RxPackets > Eth1(busy, "b").RxPackets, "b's eth1 rx packets rise between samples");
        Assert.True(Node(busy, "a").MemoryBytes > 0 && Node(busy, "a").MemoryLimitBytes is > 0);
        Assert.Equal((2, 2), (busy.Totals.Nodes, busy.Totals.RunningNodes));
        Assert.True(busy.Totals.TxPackets >= Eth1(busy, "a").TxPackets);
        Assert.Equal("local", Node(busy, "a").Host);

        // The host: admins see every lab on it; a student is refused, and does not see another's lab at all.
        var host = (await server.AdminApi.ListHostsAsync(ct)).Items.Single(h => h.IsLocal);
        var h = await Http.ReadAsync<HostUsageDto>(await server.Admin.GetAsync($"/api/v1/hosts/{host.Id}/usage", ct), 200);
        Assert.True(h.LabCount >= 1 && h.NodeCount >= 2, $"labs {h.LabCount}, nodes {h.NodeCount}");
        Assert.Contains(h.Labs, l => l.Lab == lab.Id && l.Owner == student.UserName && l.Totals.Nodes == 2);
        Assert.True(h.Cpus > 0 && h.MemoryTotalBytes > h.MemoryUsedBytes && h.DiskTotalBytes > 0 && h.CpuPercent > 0);
        Assert.True(h.Capacity.Cpus > 0 && h.Free.Cpus < h.Capacity.Cpus);
        Assert.Equal(HttpStatusCode.Forbidden, (await owner.GetAsync($"/api/v1/hosts/{host.Id}/usage", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync(usage, ct)).StatusCode);
        var pinged = await Http.ReadAsync<ExecResponse>(await flood, 200);
        Assert.StartsWith("PING 10.9.0.2", pinged.Stdout);
    }

    private static async Task<LabUsageDto> SampleAsync(HttpClient client, string url, Func<LabUsageDto, bool> until)
    {
        LabUsageDto? last = null;
        await LabTestSupport.WaitForAsync(async () =>
        {
            last = await Http.ReadAsync<LabUsageDto>(await client.GetAsync(url), 200);
            return until(last);
        }, "a usage sample where the condition holds");
        return last!;
    }

    private static NodeUsageDto Node(LabUsageDto u, string node) => u.Nodes.Single(n => n.Node == node);

    private static InterfaceUsageDto Eth1(LabUsageDto u, string node) => Node(u, node).Interfaces.Single(i => i.Name == "eth1");
}
