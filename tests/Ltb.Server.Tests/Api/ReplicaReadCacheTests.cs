using System.Net.Http.Headers;
using System.Net.Http.Json;
using Ltb.Server.Api;
using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.Api;

/// <summary>Two servers (replicas r1 and r2) in this process on one PostgreSQL database and one data folder.</summary>
public sealed class TwoReplicas : IAsyncLifetime
{
    private PostgresTestDatabase? _database;
    private string? _unavailable;
    private readonly List<LtbServer> _servers = [];

    public IReadOnlyList<LtbServer> Servers => _servers;

    public HttpClient Admin { get; private set; } = null!;

    public void Require() => Prerequisite.Require(_unavailable is null, _unavailable ?? "");

    public async ValueTask InitializeAsync()
    {
        (_database, _unavailable) = await PostgresTestDatabase.CreateAsync();
        if (_database is null)
        {
            return;
        }
        // One after the other: the first prepares the database (migrations, admin), the second finds it ready.
        foreach (var replica in new[] { "r1", "r2" })
        {
            var options = new LtbServerOptions
            {
                DataDirectory = _database.DataDirectory,
                Database = _database.Provider,
                ConnectionString = _database.ConnectionString,
                AdminPassword = ServerFixture.AdminPassword,
                ReplicaName = replica,
                LoginPermitsPerMinute = 10_000,
                TokenPermitsPerMinute = 10_000,
                SeedDemoTemplate = false,
            };
            options.Urls.Clear();
            options.Urls.Add("http://127.0.0.1:0");
            ReadCacheScenarios.LongCaches(options);
            _servers.Add(await LtbServer.StartAsync(options, TestContext.Current.CancellationToken));
        }
        Admin = new HttpClient { BaseAddress = Address(0) };
        var login = await Http.ReadAsync<LoginResponse>(
            await Admin.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest("admin", ServerFixture.AdminPassword)), 200);
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.Token);
    }

    public Uri Address(int replica) => new(_servers[replica].Urls[0]);

    public string ConnectionString => _database!.ConnectionString;

    public async ValueTask DisposeAsync()
    {
        Admin?.Dispose();
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}

/// <summary>
/// A change made through one replica reaches the caches of the other through PostgreSQL's NOTIFY: the other replica's
/// caches would keep their entries for 10 minutes, so only the notification makes it refuse the token within seconds.
/// </summary>
public sealed class ReplicaReadCacheTests(TwoReplicas replicas) : IClassFixture<TwoReplicas>
{
    /// <summary>A notification travels in milliseconds; the bound allows for a busy 2-core machine.</summary>
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(3);

    private ReadCacheScenarios Scenarios
    {
        get
        {
            replicas.Require();
            return new(replicas.Address(0), replicas.Address(1), replicas.Admin, replicas.Servers[0].Services, Propagation);
        }
    }

    [Fact]
    public Task Revoking_a_token_on_one_replica_ends_it_on_the_other() => Scenarios.RevokingAPersonalTokenEndsItAsync();

    [Fact]
    public Task Logout_on_one_replica_ends_the_session_on_the_other() => Scenarios.LogoutEndsTheSessionAsync();

    [Fact]
    public Task Locking_on_one_replica_stops_the_tokens_on_the_other() => Scenarios.LockingStopsTokensAndUnlockingRestoresThemAsync();

    [Fact]
    public Task Role_changes_on_one_replica_apply_on_the_other() => Scenarios.RoleChangesApplyToTheNextRequestAsync();

    [Fact]
    public Task Group_and_sharing_changes_on_one_replica_apply_on_the_other() => Scenarios.GroupMembershipAndSharingDecideWhoSeesALabAsync();

    [Fact]
    public Task A_password_reset_and_a_deletion_on_one_replica_end_the_tokens_on_the_other() => Scenarios.PasswordResetAndDeletionEndEveryTokenAsync();

    [Fact]
    public async Task A_listener_whose_connection_is_cut_connects_again_and_changes_arrive_again()
    {
        var scenarios = Scenarios;
        var ct = TestContext.Current.CancellationToken;
        var signals = replicas.Servers.Select(s => s.Services.GetRequiredService<Ltb.Server.Caching.ChangeSignals>()).ToList();
        await using var connection = new Npgsql.NpgsqlConnection(replicas.ConnectionString);
        await connection.OpenAsync(ct);
        var cut = await ListenersAsync(connection, ct);
        Assert.Equal(2, cut.Count);
        await using (var terminate = new Npgsql.NpgsqlCommand("SELECT pg_terminate_backend(pid) FROM unnest($1) AS pid", connection))
        {
            terminate.Parameters.AddWithValue(cut.ToArray());
            await terminate.ExecuteNonQueryAsync(ct);
        }
        // Each replica notices (its caches go off), listens again on a new connection (caches on again, empty), and a
        // change crosses once more.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while ((await ListenersAsync(connection, ct)).Count(pid => !cut.Contains(pid)) < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, ct);
        }
        Assert.Equal(2, (await ListenersAsync(connection, ct)).Count(pid => !cut.Contains(pid)));
        Assert.All(signals, s => Assert.True(s.Live));
        await scenarios.RevokingAPersonalTokenEndsItAsync();
    }

    /// <summary>The backends of the replicas' change listeners (their last statement is the LISTEN).</summary>
    private static async Task<List<int>> ListenersAsync(Npgsql.NpgsqlConnection connection, CancellationToken ct)
    {
        await using var find = new Npgsql.NpgsqlCommand(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = $1", connection);
        find.Parameters.AddWithValue($"LISTEN {Ltb.Server.Caching.ChangeSignals.Channel}");
        var pids = new List<int>();
        await using var reader = await find.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            pids.Add(reader.GetInt32(0));
        }
        return pids;
    }
}
