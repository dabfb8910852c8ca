using System.Net.Http.Headers;
using System.Net.Http.Json;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Server.Tests.Reservations;
using Ltb.Server.Usage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.Usage;

/// <summary>
/// Issue #16's history and accounting, real: a lab of two ltb/tiny nodes on the local host, sampled through the agent
/// while a controlled clock moves 10 minutes at a time for an hour. The report says 2 node-hours for the lab and its
/// owner; the controller stops and a new one starts on the same database: the history and the report are still there,
/// exactly; rolled up into hour rows two days later, the sums are unchanged.
/// </summary>
public sealed class UsageHistoryRestartTests
{
    [Fact]
    public async Task After_a_restart_the_history_is_there_and_an_hour_of_two_nodes_is_two_node_hours()
    {
        LabTestSupport.RequireDocker();
        var ct = TestContext.Current.CancellationToken;
        await using var database = new SqliteTestDatabase();
        // Behind the wall clock and on a whole hour, so that the buckets are easy to name.
        var t0 = UsageBuckets.Floor(DateTimeOffset.UtcNow, UsageTier.Hour) - TimeSpan.FromHours(3);
        var clock = new ManualClock(t0 - TimeSpan.FromMinutes(10));
        var options = Options(database, clock);
        var name = ServerFixture.Unique("hist");
        var lab = Guid.Empty;
        HttpClient? last = null;
        try
        {
            await using (var first = await LtbServer.StartAsync(options, ct))
            {
                last = await LoginAsync(first);
                try
                {
                    var deployed = await LabTestSupport.DeployAsync(last, LabTestSupport.TinyLab(name));
                    lab = deployed.Lab.Id;
                    Assert.Equal("succeeded", (await LabTestSupport.WaitAsync(last, deployed.Task.Id)).State);
                    var collector = first.Services.GetRequiredService<UsageCollector>();
                    await collector.SampleAsync(ct); // at t0 - 10 min, the first sight of the nodes: counted from here
                    for (var i = 0; i < 6; i++)
                    {
                        clock.Advance(TimeSpan.FromMinutes(10));
                        await collector.SampleAsync(ct);
                    }
                    // Each span counts in the minute of the sample that ends it (t0, t0 + 10 min, ... t0 + 50 min). Five are
                    // written (each when a later minute began); the last waits for its minute's end, or the server's stop.
                    var before = await ReportAsync(last, "lab", t0 - TimeSpan.FromHours(1), t0 + TimeSpan.FromHours(2));
                    Assert.Equal(2 * 5 / 6.0, Assert.Single(before.Rows).NodeHours, 3);
                }
                catch
                {
                    await RemoveAsync(last, lab);
                    throw;
                }
            }
            last.Dispose();

            // A new controller on the same database: the stop wrote the last minute; nothing is counted twice.
            await using var second = await LtbServer.StartAsync(options, ct);
            last = await LoginAsync(second);
            var report = await ReportAsync(last, "lab", t0 - TimeSpan.FromHours(1), t0 + TimeSpan.FromHours(2));
            var row = Assert.Single(report.Rows);
            Assert.Equal((lab, name), (row.Id!.Value, row.Name));
            Assert.Equal(2.0, row.NodeHours, 4);
            Assert.True(row.CpuHours >= 0 && row.MemoryGibHours > 0, $"CPU {row.CpuHours} h, memory {row.MemoryGibHours} GiB-h");
            var byUser = await ReportAsync(last, "user", t0 - TimeSpan.FromHours(1), t0 + TimeSpan.FromHours(2));
            Assert.Equal(("admin", 2.0), (Assert.Single(byUser.Rows).Name, Math.Round(byUser.Rows[0].NodeHours, 4)));
            // Half the period: half the node-hours.
            Assert.Equal(1.0, Assert.Single((await ReportAsync(last, "lab", t0, t0 + TimeSpan.FromMinutes(30))).Rows).NodeHours, 4);

            var history = await Http.ReadAsync<UsageHistoryDto>(await last.GetAsync(
                $"/api/v1/labs/{lab}/usage/history?from={Iso(t0 - TimeSpan.FromMinutes(10))}&to={Iso(t0 + TimeSpan.FromHours(1))}&step=600", ct), 200);
            Assert.Equal(600, history.StepSeconds);
            Assert.Equal([0, 2, 2, 2, 2, 2, 2], history.Points.Select(p => p.Nodes).ToArray());
            Assert.All(history.Points.Skip(1), p => Assert.True(p.MemoryBytes > 0));
            var node = await Http.ReadAsync<UsageHistoryDto>(await last.GetAsync(
                $"/api/v1/labs/{lab}/usage/history?node=a&from={Iso(t0)}&to={Iso(t0 + TimeSpan.FromHours(2))}&step=3600", ct), 200);
            Assert.Equal([1.0, 0], node.Points.Select(p => p.Nodes).ToArray()); // one node for the whole first hour
            var host = (await Http.ReadAsync<Paged<HostDto>>(await last.GetAsync("/api/v1/hosts", ct), 200)).Items.Single(h => h.IsLocal);
            var machine = await Http.ReadAsync<HostUsageHistoryDto>(await last.GetAsync(
                $"/api/v1/hosts/{host.Id}/usage/history?from={Iso(t0)}&to={Iso(t0 + TimeSpan.FromHours(1))}&step=3600", ct), 200);
            Assert.Equal(1.0, Assert.Single(machine.Machine).Nodes, 4); // the machine was sampled the whole hour
            Assert.True(machine.Machine[0].MemoryBytes > 0 && machine.Machine[0].CpuPercent > 0);
            Assert.True(Assert.Single(machine.Nodes).Nodes >= 2.0 - 1e-9);

            // Two days later the minutes are hour rows: the same sums, far fewer rows.
            await using (var scope = second.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
                var minutes = await db.UsageRecords.CountAsync(r => r.LabId == lab, ct);
                await scope.ServiceProvider.GetRequiredService<UsageCompaction>().CompactAsync(t0 + TimeSpan.FromDays(2), ct);
                var rows = await db.UsageRecords.AsNoTracking().Where(r => r.LabId == lab).ToListAsync(ct);
                Assert.All(rows, r => Assert.Equal(UsageTier.Hour, r.Tier));
                Assert.Equal(2, rows.Count); // one hour row per node (from 12 minute rows)
                Assert.Equal(12, minutes); // t0 ... t0 + 50 min, two nodes
                Assert.Equal(2 * 3600.0, rows.Sum(r => r.NodeSeconds), 6);
            }
            Assert.Equal(2.0, Assert.Single((await ReportAsync(last, "lab", t0 - TimeSpan.FromHours(1), t0 + TimeSpan.FromHours(2))).Rows).NodeHours, 4);

            Assert.Equal("succeeded", await RemoveAsync(last, lab));
            lab = Guid.Empty;
        }
        finally
        {
            if (last is not null && lab != Guid.Empty)
            {
                await RemoveAsync(last, lab);
            }
            last?.Dispose();
        }
    }

    /// <summary>Removes the lab through the server the client talks to; the removal task's end state.</summary>
    private static async Task<string> RemoveAsync(HttpClient client, Guid lab)
    {
        if (lab == Guid.Empty)
        {
            return "none";
        }
        var removal = await Http.ReadAsync<LabTaskAccepted>(await client.DeleteAsync($"/api/v1/labs/{lab}"), 202);
        return (await LabTestSupport.WaitAsync(client, removal.Task.Id)).State;
    }

    private static string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.ToString("O", System.Globalization.CultureInfo.InvariantCulture));

    private static async Task<UsageReportDto> ReportAsync(HttpClient client, string by, DateTimeOffset from, DateTimeOffset to) =>
        await Http.ReadAsync<UsageReportDto>(await client.GetAsync($"/api/v1/usage/report?by={by}&from={Iso(from)}&to={Iso(to)}"), 200);

    private static LtbServerOptions Options(SqliteTestDatabase database, ManualClock clock)
    {
        var options = new LtbServerOptions
        {
            DataDirectory = database.DataDirectory,
            Database = database.Provider,
            ConnectionString = database.ConnectionString,
            AdminPassword = ServerFixture.AdminPassword,
            Clock = clock,
            // The background loop samples once at start; the test samples by itself as the clock moves.
            UsageInterval = TimeSpan.FromMinutes(10),
            SeedDemoTemplate = false,
        };
        options.Urls.Clear();
        options.Urls.Add("http://127.0.0.1:0");
        return options;
    }

    private static async Task<HttpClient> LoginAsync(LtbServer server)
    {
        var client = new HttpClient { BaseAddress = new Uri(server.Urls[0]) };
        var login = await Http.ReadAsync<LoginResponse>(
            await client.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest("admin", ServerFixture.AdminPassword)), 200);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.Token);
        return client;
    }
}
