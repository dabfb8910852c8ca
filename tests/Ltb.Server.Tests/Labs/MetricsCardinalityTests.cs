using System.Net.Http.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// Issue #16's bounded cardinality: with 20 labs the node series stop at the bound and every lab has its series.
/// A server of its own: the OpenTelemetry SDK keeps exporting an observable series' last value after the series stops
/// being reported (opentelemetry-dotnet #5950), so labs destroyed by other tests would still be in the scrape.
/// </summary>
[Collection(MetricsServer.Collection)]
public sealed class MetricsCardinalityTests(MetricsServer server) : IClassFixture<MetricsServer>
{
    [Fact]
    public async Task Twenty_labs_keep_the_node_series_at_the_bound_and_list_every_lab()
    {
        LabTestSupport.RequireDocker();
        server.Require();
        const string one = """
            name: NAME
            topology:
              nodes:
                n: {kind: linux, image: "ltb/tiny:latest"}
            """;
        var labs = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            ServerLab.RunAsync(server.Admin, one.Replace("NAME", ServerFixture.Unique("card"), StringComparison.Ordinal))));
        try
        {
            // A generous wait: sampling 20 labs on a loaded two-core runner (the web tests' browsers beside it) takes a while
            // (docs/benchmarks.md has the cost); the test is about the series' bound, not the sampler's speed.
            var scrape = await MetricsTests.ScrapeAsync(server.Admin);
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
            int Seen(string text) => labs.Count(l => MetricsTests.Value(text, "ltb_lab_nodes", $"host=local,lab={l.RuntimeName}") == 1);
            while (Seen(scrape) < labs.Length)
            {
                if (DateTime.UtcNow >= deadline)
                {
                    Assert.Fail($"waited 4 minutes for every one of the 20 labs in the scrape; {Seen(scrape)} are in it; the local host's last sample: {await LocalSampleAsync()}");
                }
                await Task.Delay(1000, TestContext.Current.CancellationToken);
                scrape = await MetricsTests.ScrapeAsync(server.Admin);
            }
            foreach (var metric in new[] { "ltb_node_cpu_percent", "ltb_node_memory_bytes", "ltb_node_network_receive_bytes_total" })
            {
                Assert.Equal(MetricsServer.NodeSeries, scrape.Split('\n').Count(l => l.StartsWith(metric + "{", StringComparison.Ordinal)));
            }
            // Labels are host, lab and node only: nothing per interface, per sample or per user.
            var labels = scrape.Split('\n').Where(l => l.StartsWith("ltb_", StringComparison.Ordinal))
                .SelectMany(l => MetricsTests.LabelName().Matches(l).Select(m => m.Groups[1].Value)).Where(l => !l.StartsWith("otel_", StringComparison.Ordinal)).ToHashSet();
            Assert.Subset(new HashSet<string> { "host", "lab", "node" }, labels);
            Assert.Equal(1, scrape.Split('\n').Count(l => l.StartsWith("ltb_host_nodes{", StringComparison.Ordinal)));
        }
        finally
        {
            foreach (var l in labs)
            {
                await l.DisposeAsync();
            }
        }
    }

    /// <summary>What the usage board holds for the local host (its time, labs and nodes' errors), to tell a slow sampler from a broken one.</summary>
    private async Task<string> LocalSampleAsync()
    {
        var hosts = await server.Admin.GetFromJsonAsync<Paged<HostDto>>("/api/v1/hosts", TestContext.Current.CancellationToken);
        var local = hosts!.Items.Single(h => h.IsLocal);
        var text = await server.Admin.GetStringAsync($"/api/v1/hosts/{local.Id}/usage", TestContext.Current.CancellationToken);
        return text.Length > 3000 ? text[..3000] + "..." : text;
    }
}
