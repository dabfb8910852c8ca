using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Labs;

/// <summary>A server whose /metrics keeps few node series (so 20 small labs pass the bound) and takes a scrape token.</summary>
public sealed class MetricsServer : SqliteServer
{
    public const string ScrapeToken = "prometheus-scrape-secret";
    public const int NodeSeries = 12;

    /// <summary>The metrics classes run one after the other: 20 labs being sampled starve a flood ping's figures on two cores.</summary>
    public const string Collection = "metrics servers";

    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        options.MetricsToken = ScrapeToken;
        options.MetricsNodeSeriesLimit = NodeSeries;
        options.UsageInterval = TimeSpan.FromSeconds(2);
    }
}

/// <summary>
/// Issue #16's /metrics, real: scraped while a flood ping crosses a link, the pinging node's network counters rise and
/// its CPU is above idle, the lab's and the host's series are there, and every series the Grafana dashboard names is in
/// the scrape; who may scrape. (The bound with 20 labs is <see cref="MetricsCardinalityTests"/>.)
/// </summary>
[Collection(MetricsServer.Collection)]
public sealed partial class MetricsTests(MetricsServer server) : IClassFixture<MetricsServer>
{
    private const string Pair = """
        name: NAME
        topology:
          nodes:
            a: {kind: linux, image: "wbitt/network-multitool:3.22.2", exec: ["ip addr add 10.9.0.1/24 dev eth1"]}
            b: {kind: linux, image: "wbitt/network-multitool:3.22.2", exec: ["ip addr add 10.9.0.2/24 dev eth1"]}
          links:
            - endpoints: ["a:eth1", "b:eth1"]
        """;

    [GeneratedRegex(@"\bltb_[a-z_]+")]
    private static partial Regex SeriesName();

    [Fact]
    public async Task A_flood_ping_shows_in_the_scrape_and_every_series_of_the_dashboard_is_there()
    {
        LabTestSupport.RequireDocker();
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        await using var lab = await ServerLab.RunAsync(server.Admin, Pair.Replace("NAME", ServerFixture.Unique("met"), StringComparison.Ordinal));
        var a = $"host=local,lab={lab.RuntimeName},node=a";
        var before = await WaitForSeriesAsync("ltb_node_network_transmit_bytes_total", a);
        var flood = server.Admin.PostAsJsonAsync($"/api/v1/labs/{lab.Id}/exec",
            new ExecRequest("a", ["ping", "-f", "-w", "95", "-s", "1000", "10.9.0.2"], 120), ct);
        string scrape = "";
        try
        {
            // Two cores shared with the rest of the suite: the flood may take a while to show in a sample.
            await LabTestSupport.WaitForAsync(async () =>
            {
                scrape = await ScrapeAsync(server.Admin);
                return Value(scrape, "ltb_node_network_transmit_bytes_total", a) > before + 1_000_000 && Value(scrape, "ltb_node_cpu_percent", a) > 1;
            }, "a's transmitted bytes rising by a megabyte and its CPU above idle", TimeSpan.FromSeconds(80));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var ping = !flood.IsCompleted ? "the ping runs"
                : flood.IsCompletedSuccessfully ? $"the ping ended: {await (await flood).Content.ReadAsStringAsync(ct)}" : $"the ping failed: {flood.Exception?.Message}";
            throw new Xunit.Sdk.XunitException($"{e.Message}; transmitted {Value(scrape, "ltb_node_network_transmit_bytes_total", a) - before} bytes since " +
                $"the first sample, CPU {Value(scrape, "ltb_node_cpu_percent", a)} %; {ping}");
        }
        var busy = Value(scrape, "ltb_node_network_transmit_bytes_total", a);
        await LabTestSupport.WaitForAsync(async () => Value(await ScrapeAsync(server.Admin), "ltb_node_network_transmit_bytes_total", a) > busy,
            "a's transmitted bytes rising again at the next sample", TimeSpan.FromSeconds(30));
        Assert.True(Value(scrape, "ltb_node_network_receive_packets_total", $"host=local,lab={lab.RuntimeName},node=b") > 1000);
        Assert.True(Value(scrape, "ltb_lab_nodes", $"host=local,lab={lab.RuntimeName}") == 2);
        Assert.True(Value(scrape, "ltb_lab_cpu_percent", $"host=local,lab={lab.RuntimeName}") > 1);
        Assert.True(Value(scrape, "ltb_host_nodes", "host=local") >= 2 && Value(scrape, "ltb_host_memory_total_bytes", "host=local") > 0);

        // The dashboard: every series it names is served.
        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Repo.Root, "deploy", "grafana", "ltb-usage.json"), ct));
        var named = Expressions(dashboard.RootElement).SelectMany(e => SeriesName().Matches(e).Select(m => m.Value)).Distinct().ToList();
        Assert.True(named.Count >= 15, string.Join(", ", named));
        var served = scrape.Split('\n').Where(l => l.StartsWith("ltb_", StringComparison.Ordinal)).Select(l => SeriesName().Match(l).Value).ToHashSet();
        Assert.All(named, n => Assert.Contains(n, served));
        (await server.Admin.PostAsJsonAsync($"/api/v1/labs/{lab.Id}/exec", new ExecRequest("a", ["killall", "ping"]), ct)).EnsureSuccessStatusCode();
        await flood;

        // Who scrapes: an admin's token (above), the scrape token; not anonymous, not a student.
        using var anonymous = server.Anonymous();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/metrics", ct)).StatusCode);
        var student = await server.CreateUserAsync("scr");
        using var studentClient = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        Assert.Equal(HttpStatusCode.Forbidden, (await studentClient.GetAsync("/metrics", ct)).StatusCode);
        using var prometheus = server.Anonymous();
        prometheus.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MetricsServer.ScrapeToken);
        Assert.True(Value(await ScrapeAsync(prometheus), "ltb_host_cpus", "host=local") > 0);
    }

    [GeneratedRegex(@"[{,]([a-z_]+)=""")]
    internal static partial Regex LabelName();

    private async Task<double> WaitForSeriesAsync(string name, string labels)
    {
        double value = -1;
        await LabTestSupport.WaitForAsync(async () => (value = Value(await ScrapeAsync(server.Admin), name, labels)) >= 0, $"{name}{{{labels}}}",
            TimeSpan.FromSeconds(60)); // a new lab's first sample waits for the collector's turn on a busy suite's two cores
        return value;
    }

    internal static async Task<string> ScrapeAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The value of the series <paramref name="name"/> whose labels include <paramref name="labels"/>
    /// (<c>k=v,k=v</c>; the exporter may add its own, such as otel_scope_name), or -1 when there is none.</summary>
    internal static double Value(string scrape, string name, string labels)
    {
        var wanted = labels.Split(',').Select(kv => kv.Split('=', 2)).Select(kv => $"{kv[0]}=\"{kv[1]}\"").ToList();
        foreach (var line in scrape.Split('\n'))
        {
            if (line.StartsWith(name + "{", StringComparison.Ordinal) && line.IndexOf('}', StringComparison.Ordinal) is var end and > 0
                && line[(name.Length + 1)..end].Split(',') is var have && wanted.All(have.Contains))
            {
                return double.Parse(line[(end + 2)..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        return -1;
    }

    private static IEnumerable<string> Expressions(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().SelectMany(p => p.Name is "expr" or "query" && p.Value.ValueKind == JsonValueKind.String
            ? [p.Value.GetString()!] : Expressions(p.Value)),
        JsonValueKind.Array => e.EnumerateArray().SelectMany(Expressions),
        _ => [],
    };
}

/// <summary>
/// The metrics classes run alone, after the others: OpenTelemetry's SDK listens to meters by name across the process, so a
/// test server alive beside the <see cref="MetricsServer"/> (servers run in the test process) registers the same
/// instruments first and the scrape shows its labs instead (a full run's MetricsCardinalityTests saw none of its 20 labs).
/// </summary>
[CollectionDefinition(MetricsServer.Collection, DisableParallelization = true)]
public sealed class MetricsServersCollection;
