using System.Net;
using System.Net.Http.Json;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;
using Microsoft.EntityFrameworkCore;
using static Ltb.Server.Tests.Reservations.ReservationApi;

namespace Ltb.Server.Tests.Reservations;

/// <summary>Two controller replicas (r1, r2) on one PostgreSQL database and one <see cref="ManualClock"/>, as in ReplicaReadCacheTests.</summary>
public sealed class TwoReservationReplicas : IAsyncLifetime
{
    private PostgresTestDatabase? _database;
    private string? _unavailable;
    private readonly List<LtbServer> _servers = [];

    public IReadOnlyList<LtbServer> Servers => _servers;
    public ManualClock Clock { get; } = new(ReservationServerSetup.Start);
    public ServerFixture? First { get; private set; }

    public void Require() => Prerequisite.Require(_unavailable is null, _unavailable ?? "");

    public async ValueTask InitializeAsync()
    {
        (_database, _unavailable) = await PostgresTestDatabase.CreateAsync();
        if (_database is null)
        {
            return;
        }
        foreach (var replica in new[] { "r1", "r2" })
        {
            var options = new LtbServerOptions
            {
                DataDirectory = _database.DataDirectory, Database = _database.Provider, ConnectionString = _database.ConnectionString,
                AdminPassword = ServerFixture.AdminPassword, ReplicaName = replica, LoginPermitsPerMinute = 10_000, TokenPermitsPerMinute = 10_000,
            };
            options.Urls.Clear();
            options.Urls.Add("http://127.0.0.1:0");
            ReservationServerSetup.Configure(options, Clock);
            _servers.Add(await LtbServer.StartAsync(options, TestContext.Current.CancellationToken));
        }
    }

    public Uri Address(int replica) => new(_servers[replica].Urls[0]);

    public async Task<HttpClient> LoginAsync(int replica, string user, string password)
    {
        var client = new HttpClient { BaseAddress = Address(replica) };
        var login = await Http.ReadAsync<LoginResponse>(await client.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest(user, password)), 200);
        client.DefaultRequestHeaders.Authorization = new("Bearer", login.Token);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
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
/// With two replicas: bookings racing through both for the last capacity cannot both succeed (the advisory lock), and the
/// scheduler's steps, run by both replicas at the same moment, happen once (the claims).
/// </summary>
public sealed class ReplicaReservationTests(TwoReservationReplicas replicas) : IClassFixture<TwoReservationReplicas>
{
    [Fact]
    public async Task Bookings_race_through_both_replicas_and_each_scheduler_step_happens_once()
    {
        replicas.Require();
        var ct = TestContext.Current.CancellationToken;
        using var admin = await replicas.LoginAsync(0, "admin", ServerFixture.AdminPassword);
        var local = (await Http.ReadAsync<Paged<HostDto>>(await admin.GetAsync("/api/v1/hosts", ct), 200)).Items.Single(h => h.IsLocal);
        await Http.EnsureAsync(await admin.PatchAsJsonAsync($"/api/v1/hosts/{local.Id}", new UpdateHostRequest(State: "disabled"), ct), 200, "disable local");
        var template = await Templates.TemplateTestSupport.CreateAsync(admin, ReservationServerSetup.OneNode("replicas"), "replicas", "everyone", null);
        await using var hosts = new TestHosts(admin, replicas.Address(0));
        await hosts.AddAsync("rep", 2, 4096);

        var users = new List<HttpClient>();
        for (var i = 0; i < 6; i++)
        {
            var user = await Http.ReadAsync<UserDto>(await admin.PostAsJsonAsync("/api/v1/users",
                new CreateUserRequest(ServerFixture.Unique("rep"), ServerFixture.UserPassword, Roles: ["student"]), ct), 201);
            users.Add(await replicas.LoginAsync(i % 2, user.UserName, ServerFixture.UserPassword));
        }
        var start = replicas.Clock.GetUtcNow().AddHours(1);
        // A host of 2 CPUs, 1 CPU a lab: two of the six win, whichever replica they went through.
        var answers = await Task.WhenAll(users.Select((u, i) => u.PostAsJsonAsync("/api/v1/reservations",
            Request($"rep{i}", template.Id, start, TimeSpan.FromHours(1)), ct)));
        Assert.Equal(2, answers.Count(a => a.StatusCode == HttpStatusCode.Created));
        Assert.Equal(4, answers.Count(a => a.StatusCode == HttpStatusCode.Conflict));
        var booked = new List<ReservationDto>();
        foreach (var a in answers.Where(a => a.StatusCode == HttpStatusCode.Created))
        {
            booked.Add(await Http.ReadAsync<ReservationDto>(a, 201));
        }

        // Both replicas' schedulers pass at the same moments: start, warning, end.
        foreach (var at in new[] { start, booked[0].EndsAt.AddMinutes(-10), booked[0].EndsAt })
        {
            replicas.Clock.Set(at);
            await Task.WhenAll(Enumerable.Range(0, 4).Select(i => TickAsync(replicas.Servers[i % 2])));
        }
        foreach (var r in booked)
        {
            var lab = Assert.Single(await LabsOfAsync(replicas.Servers[0], r.Id));
            var tasks = await TasksOfAsync(replicas.Servers[1], lab.Id);
            Assert.Single(tasks, t => t.Kind == LabTaskKind.Deployment);
            Assert.Single(tasks, t => t.Kind == LabTaskKind.Removal);
            Assert.Single(await EventsOfAsync(replicas.Servers[0], lab.Id), e => e.Level == LabEventLevel.Warning);
            Assert.Equal(ReservationState.Ended, await InScopeAsync(replicas.Servers[1], db => db.Reservations.Where(x => x.Id == r.Id)
                .Select(x => x.State).FirstAsync(ct)));
        }
        users.ForEach(u => u.Dispose());
    }
}
