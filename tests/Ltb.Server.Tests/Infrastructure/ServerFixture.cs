using System.Net.Http.Headers;
using Ltb.Server.Hosting;
using Ltb.Testing;

namespace Ltb.Server.Tests.Infrastructure;

/// <summary>
/// One real LTB server (Kestrel on a free 127.0.0.1 port) over a fresh database, shared by the tests of one class.
/// Derived fixtures choose the provider; a PostgreSQL fixture whose database cannot be reached records why, and each
/// test then calls <see cref="Require"/> (skip outside CI, fail in CI).
/// </summary>
public abstract class ServerFixture : IAsyncLifetime
{
    public const string AdminPassword = "Admin-Passw0rd-1";
    public const string UserPassword = "Student-Passw0rd-1";

    private TestDatabase? _database;
    private LtbServer? _server;
    private string? _unavailable;

    protected abstract Task<(TestDatabase? Database, string? Unavailable)> CreateDatabaseAsync();

    /// <summary>Limits high enough for the tests that are not about rate limiting.</summary>
    protected virtual Task ConfigureAsync(LtbServerOptions options)
    {
        options.LoginPermitsPerMinute = 10_000;
        options.TokenPermitsPerMinute = 10_000;
        return Task.CompletedTask;
    }

    /// <summary>Stops what a derived fixture started beside the server.</summary>
    protected virtual ValueTask DisposeExtrasAsync() => ValueTask.CompletedTask;

    public Uri BaseAddress { get; private set; } = null!;

    public LtbServer Server => _server ?? throw new InvalidOperationException(_unavailable);

    public HttpClient Admin { get; private set; } = null!;

    /// <summary>The admin's typed client (Ltb.Client), for the common paths: users, groups, labs.</summary>
    public LtbApiClient AdminApi { get; private set; } = null!;

    /// <summary>The server's data folder (labs' files live under labs/).</summary>
    public string DataDirectory => _database?.DataDirectory ?? throw new InvalidOperationException(_unavailable);

    public AdminAccountCreated? AdminCreated { get; private set; }

    public void Require() => Prerequisite.Require(_unavailable is null, _unavailable ?? "");

    public async ValueTask InitializeAsync()
    {
        (_database, _unavailable) = await CreateDatabaseAsync();
        if (_database is null)
        {
            return;
        }
        var options = new LtbServerOptions
        {
            DataDirectory = _database.DataDirectory,
            Database = _database.Provider,
            ConnectionString = _database.ConnectionString,
            AdminPassword = AdminPassword,
            OnAdminCreated = a => AdminCreated = a,
            // Two labs at once on a host, also on a one-core runner (the concurrency test needs the overlap).
            LabTasksPerHost = Math.Max(2, Environment.ProcessorCount),
        };
        options.Urls.Clear();
        options.Urls.Add("http://127.0.0.1:0");
        await ConfigureAsync(options);
        _server = await LtbServer.StartAsync(options, TestContext.Current.CancellationToken);
        BaseAddress = new Uri(_server.Urls[0]);
        var adminToken = await LoginTokenAsync("admin", AdminPassword);
        Admin = WithToken(adminToken);
        AdminApi = Api(adminToken);
        await SeedAsync();
    }

    /// <summary>Creates the users and groups a test class needs (after the admin signed in).</summary>
    protected virtual Task SeedAsync() => Task.CompletedTask;

    public HttpClient Anonymous() => new() { BaseAddress = BaseAddress };

    public HttpClient WithToken(string token)
    {
        var client = Anonymous();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>A typed client of this server; null <paramref name="token"/>: anonymous.</summary>
    public LtbApiClient Api(string? token) => new(BaseAddress, token);

    public async Task<string> LoginTokenAsync(string user, string password)
    {
        using var anonymous = Api(null);
        return (await anonymous.SignInAsync(user, password, TestContext.Current.CancellationToken)).Token;
    }

    public async Task<HttpClient> LoginAsync(string user, string password) => WithToken(await LoginTokenAsync(user, password));

    /// <summary>Replaces this server's tenant policy as an admin does (PUT /api/v1/policy).</summary>
    public async Task SetPolicyAsync(Ltb.Topology.Policy.TenantPolicy policy)
    {
        using var body = new StringContent(Ltb.Topology.Policy.TenantPolicyFile.ToJson(policy), System.Text.Encoding.UTF8, "application/json");
        await Http.EnsureAsync(await Admin.PutAsync("/api/v1/policy", body), 200, "set the tenant policy");
    }

    /// <summary>Creates a user (as admin) with a unique name from <paramref name="prefix"/>.</summary>
    public async Task<UserDto> CreateUserAsync(string prefix, params string[] roles)
    {
        return await AdminApi.CreateUserAsync(new CreateUserRequest(Unique(prefix), UserPassword, Roles: roles),
            TestContext.Current.CancellationToken);
    }

    public async Task<GroupDto> CreateGroupAsync(string prefix, params Guid[] members)
    {
        var ct = TestContext.Current.CancellationToken;
        var group = await AdminApi.CreateGroupAsync(new CreateGroupRequest(Unique(prefix)), ct);
        foreach (var member in members)
        {
            await AdminApi.AddGroupMemberAsync(group.Id, member.ToString(), ct);
        }
        return group;
    }

    public static string Unique(string prefix) => $"{prefix}{Guid.NewGuid().ToString("N")[..8]}";

    public async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        Admin?.Dispose();
        AdminApi?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
        await DisposeExtrasAsync();
    }
}

public class SqliteServer : ServerFixture
{
    protected override async Task<(TestDatabase?, string?)> CreateDatabaseAsync() =>
        await Task.FromResult<(TestDatabase?, string?)>((new SqliteTestDatabase(), null));
}

public class PostgresServer : ServerFixture
{
    protected override async Task<(TestDatabase?, string?)> CreateDatabaseAsync() => await PostgresTestDatabase.CreateAsync();
}
