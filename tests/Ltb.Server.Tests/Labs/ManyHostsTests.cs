using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Reservations;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Ltb.Server.Tests.Labs;

/// <summary>A PostgreSQL server whose hosts stay ready without heartbeats and whose tasks wait 10 s for a host that does not answer.</summary>
public sealed class ManyHostsServer : PostgresServer
{
    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        options.HostSilence = TimeSpan.FromDays(1);
        options.HostAwayTimeout = TimeSpan.FromSeconds(10);
    }
}

/// <summary>
/// Issue #17: 50 hosts on PostgreSQL. A release with a Hangfire server per host queue used up PostgreSQL's connections
/// with 50 hosts; now one server per replica serves the one task queue. 50 registered hosts (no agent behind them) each
/// get a lab: every host's deployment task is taken by a worker, waits for its host and ends with the host's message,
/// while the connections the server holds to its database stay far below PostgreSQL's 100.
/// </summary>
public sealed class ManyHostsTests(ManyHostsServer fixture) : IClassFixture<ManyHostsServer>
{
    private const int Hosts = 50;

    [Fact]
    public async Task Fifty_hosts_on_postgres_each_run_their_task_with_a_bounded_number_of_connections()
    {
        fixture.Require();
        var ct = TestContext.Current.CancellationToken;
        await using var hosts = new TestHosts(fixture.Admin, fixture.BaseAddress);
        var names = new List<string>();
        for (var i = 0; i < Hosts; i++)
        {
            names.Add((await hosts.AddAsync($"many{i:00}-", 4, 4096)).Name);
        }
        var options = fixture.Server.Services.GetRequiredService<LtbServerOptions>();
        using var sampling = new CancellationTokenSource();
        var peak = SamplePeakConnectionsAsync(options.ConnectionString!, sampling.Token);

        var tasks = new List<(string Host, LabTaskAccepted Accepted)>();
        foreach (var host in names)
        {
            using var form = LabTestSupport.Upload(ReservationServerSetup.OneNode(ServerFixture.Unique("many")));
            form.Add(new StringContent(host), "host");
            tasks.Add((host, await Http.ReadAsync<LabTaskAccepted>(await fixture.Admin.PostAsync("/api/v1/labs", form, ct), 202)));
        }
        foreach (var (host, accepted) in tasks)
        {
            var done = await LabTestSupport.WaitAsync(fixture.Admin, accepted.Task.Id);
            Assert.Equal("failed", done.State);
            Assert.Contains(done.Log, l => l.Contains($"waiting for host '{host}'", StringComparison.Ordinal));
            Assert.Contains($"host '{host}' is unreachable", done.Error, StringComparison.Ordinal);
        }
        await sampling.CancelAsync();
        var most = await peak;
        TestContext.Current.TestOutputHelper?.WriteLine($"most connections to the server's database at once: {most}");
        Assert.InRange(most, 1, 70);
    }

    /// <summary>The most sessions on the server's database seen at once (every 200 ms), this sampler's own not counted.</summary>
    private static async Task<long> SamplePeakConnectionsAsync(string connectionString, CancellationToken stop)
    {
        var sampler = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(sampler);
        await connection.OpenAsync(CancellationToken.None);
        await using var count = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", connection);
        long most = 0;
        while (!stop.IsCancellationRequested)
        {
            most = Math.Max(most, (long)(await count.ExecuteScalarAsync(CancellationToken.None))!);
            try
            {
                await Task.Delay(200, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return most;
    }
}
