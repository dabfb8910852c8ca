using System.Net.Http.Headers;
using System.Net.Http.Json;
using Ltb.Server.Api;
using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

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
}
