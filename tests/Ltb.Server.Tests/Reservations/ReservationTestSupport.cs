using System.Net.Http.Headers;
using System.Net.Http.Json;
using Ltb.Agent;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Reservations;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Templates;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.Reservations;

/// <summary>A clock that moves only when a test moves it (the server's <see cref="LtbServerOptions.Clock"/>).</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Set(DateTimeOffset at) => Interlocked.Exchange(ref _ticks, at.UtcTicks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>
/// A server whose reservations and scheduler run on a <see cref="ManualClock"/> (no scheduler loop: tests call
/// <see cref="ReservationScheduler.TickAsync"/>), with the local host disabled so that only the hosts a test registers
/// take labs, and one template (a node of 1 CPU and 256 MiB) everyone may book.
/// </summary>
public interface IReservationServer
{
    ServerFixture Fixture { get; }
    ManualClock Clock { get; }
    Guid TemplateId { get; }
}

internal static class ReservationServerSetup
{
    public static readonly DateTimeOffset Start = new(DateTimeOffset.UtcNow.Year + 1, 3, 2, 8, 0, 0, TimeSpan.Zero);

    public static void Configure(LtbServerOptions options, ManualClock clock)
    {
        options.Clock = clock;
        options.SchedulerInterval = TimeSpan.Zero;
        options.HostSilence = TimeSpan.FromDays(1); // registered hosts send no heartbeats here
        options.SeedDemoTemplate = false;
    }

    /// <summary>The local host out of the way, and the template every test books.</summary>
    public static async Task<Guid> SeedAsync(ServerFixture s)
    {
        var local = (await Http.ReadAsync<Paged<HostDto>>(await s.Admin.GetAsync("/api/v1/hosts"), 200)).Items.Single(h => h.Name == "local");
        await Http.EnsureAsync(await s.Admin.PatchAsJsonAsync($"/api/v1/hosts/{local.Id}", new UpdateHostRequest(State: "disabled")), 200, "disable local");
        var template = await TemplateTestSupport.CreateAsync(s.Admin, OneNode("booked"), ServerFixture.Unique("rtpl"), "everyone", null);
        return template.Id;
    }

    public static string OneNode(string name) => $$"""
        name: {{name}}
        topology:
          nodes:
            n1: {kind: linux, image: "ltb/tiny:latest", cpu: 1, memory: 256MiB}
        """;
}

public sealed class SqliteReservationServer : SqliteServer, IReservationServer
{
    public ServerFixture Fixture => this;
    public ManualClock Clock { get; } = new(ReservationServerSetup.Start);
    public Guid TemplateId { get; private set; }

    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        ReservationServerSetup.Configure(options, Clock);
    }

    protected override async Task SeedAsync() => TemplateId = await ReservationServerSetup.SeedAsync(this);
}

public sealed class PostgresReservationServer : PostgresServer, IReservationServer
{
    public ServerFixture Fixture => this;
    public ManualClock Clock { get; } = new(ReservationServerSetup.Start);
    public Guid TemplateId { get; private set; }

    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        ReservationServerSetup.Configure(options, Clock);
    }

    protected override async Task SeedAsync() => TemplateId = await ReservationServerSetup.SeedAsync(this);
}

/// <summary>Hosts registered as an agent registers (no agent behind them), with exact capacities; disabled when disposed.</summary>
public sealed class TestHosts(HttpClient admin, Uri server) : IAsyncDisposable
{
    public Dictionary<string, HostDto> ByName { get; } = new(StringComparer.Ordinal);

    /// <summary>A host of <paramref name="cpus"/> CPUs and <paramref name="memoryMiB"/> MiB, counted as they are (overcommit 1) unless given.</summary>
    public async Task<HostDto> AddAsync(string prefix, int cpus, long memoryMiB, double cpuOvercommit = 1, double memoryOvercommit = 1)
    {
        var name = ServerFixture.Unique(prefix);
        var token = await Http.ReadAsync<CreatedHostTokenDto>(await admin.PostAsJsonAsync("/api/v1/hosts/tokens", new CreateHostTokenRequest(name)), 201);
        using var agent = new HttpClient { BaseAddress = server };
        agent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Secret);
        var facts = new AgentFacts(cpus, memoryMiB << 20, 100L << 30, false, ["ltb/tiny:latest"], ["linux"], "test");
        var registered = await Http.ReadAsync<AgentRegistered>(await agent.PostAsJsonAsync("/api/v1/hosts/register",
            new AgentRegistration(name, "http://127.0.0.1:9", facts, null, [], Ltb.Server.Hosting.AgentVersions.Controller.ToString(3))), 200);
        var host = await Http.ReadAsync<HostDto>(await admin.PatchAsJsonAsync($"/api/v1/hosts/{registered.HostId}",
            new UpdateHostRequest(CpuOvercommit: cpuOvercommit, MemoryOvercommit: memoryOvercommit)), 200);
        ByName[prefix] = host;
        return host;
    }

    public Guid this[string prefix] => ByName[prefix].Id;

    public async ValueTask DisposeAsync()
    {
        foreach (var host in ByName.Values)
        {
            using var _ = await admin.PatchAsJsonAsync($"/api/v1/hosts/{host.Id}", new UpdateHostRequest(State: "disabled"));
        }
    }
}

internal static class ReservationApi
{
    public static CreateReservationRequest Request(string name, Guid template, DateTimeOffset start, TimeSpan length, string? audience = null,
        Guid? group = null) => new(name, template, start, start + length, null, audience, group);

    public static async Task<ReservationDto> CreateAsync(HttpClient client, CreateReservationRequest request) =>
        await Http.ReadAsync<ReservationDto>(await client.PostAsJsonAsync("/api/v1/reservations", request), 201);

    /// <summary>The refusal's problem document (409 expected).</summary>
    public static async Task<System.Text.Json.JsonElement> RefusedAsync(HttpResponseMessage response, int status = 409) =>
        await Http.ReadAsync<System.Text.Json.JsonElement>(response, status);

    public static async Task<T> InScopeAsync<T>(LtbServer server, Func<LtbDbContext, Task<T>> read)
    {
        await using var scope = server.Services.CreateAsyncScope();
        return await read(scope.ServiceProvider.GetRequiredService<LtbDbContext>());
    }

    public static Task<int> TickAsync(LtbServer server) =>
        server.Services.GetRequiredService<ReservationScheduler>().TickAsync(TestContext.Current.CancellationToken);

    public static Task<List<Lab>> LabsOfAsync(LtbServer server, Guid reservation) =>
        InScopeAsync(server, db => db.Labs.AsNoTracking().Where(l => l.ReservationId == reservation).ToListAsync());

    public static Task<List<LabTask>> TasksOfAsync(LtbServer server, Guid lab) =>
        InScopeAsync(server, db => db.LabTasks.AsNoTracking().Where(t => t.LabId == lab).ToListAsync());

    public static Task<List<LabEvent>> EventsOfAsync(LtbServer server, Guid lab) =>
        InScopeAsync(server, db => db.LabEvents.AsNoTracking().Where(e => e.LabId == lab).ToListAsync());
}
