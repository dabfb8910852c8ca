using System.Net;
using System.Net.Http.Json;
using Ltb.Server.Data;
using Ltb.Server.Labs;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Topology.Policy;
using Microsoft.EntityFrameworkCore;
using static Ltb.Server.Tests.Reservations.ReservationApi;

namespace Ltb.Server.Tests.Reservations;

/// <summary>
/// The scheduler against the store with a controlled clock (both databases): deploy at start minus the lead time, the
/// end warning, removal at the end, catch-up after downtime, extension, and ad-hoc labs' lifetime. The hosts have no
/// agent: what is asserted is what the scheduler writes (labs, their tasks and events), each exactly once.
/// </summary>
public abstract class ReservationSchedulerTests<TServer>(TServer fixture) : IClassFixture<TServer>
    where TServer : class, IReservationServer
{
    private ServerFixture S
    {
        get
        {
            fixture.Fixture.Require();
            return fixture.Fixture;
        }
    }

    private static readonly TimeSpan Lead = TimeSpan.FromSeconds(TenantPolicy.Default.Scheduling.LeadSeconds);
    private static readonly TimeSpan Warning = TimeSpan.FromSeconds(TenantPolicy.Default.Scheduling.WarningSeconds);

    private ManualClock Clock => fixture.Clock;

    private async Task<HttpClient> UserAsync(string prefix) =>
        await S.LoginAsync((await S.CreateUserAsync(prefix, "student")).UserName, ServerFixture.UserPassword);

    private async Task<ReservationDto> BookAsync(HttpClient user, string name, DateTimeOffset start, TimeSpan length) =>
        await CreateAsync(user, Request(name, fixture.TemplateId, start, length));

    [Fact]
    public async Task Labs_deploy_at_start_minus_lead_are_warned_before_the_end_and_removed_at_it_once_each()
    {
        await using var hosts = new TestHosts(S.Admin, S.BaseAddress);
        var host = await hosts.AddAsync("sch", 2, 4096);
        using var user = await UserAsync("rs");
        var start = Clock.GetUtcNow().AddHours(1);
        var r = await BookAsync(user, "timed", start, TimeSpan.FromHours(1));

        Clock.Set(start - Lead - TimeSpan.FromSeconds(1));
        await TickAsync(S.Server);
        Assert.Empty(await LabsOfAsync(S.Server, r.Id));

        Clock.Set(start - Lead);
        await TickAsync(S.Server);
        await TickAsync(S.Server);
        var lab = Assert.Single(await LabsOfAsync(S.Server, r.Id));
        Assert.Equal(host.Id, lab.HostId);
        Assert.Equal(LabTaskKind.Deployment, Assert.Single(await TasksOfAsync(S.Server, lab.Id)).Kind);
        var active = await Http.ReadAsync<ReservationDto>(await user.GetAsync($"/api/v1/reservations/{r.Id}"), 200);
        Assert.Equal(("active", lab.Id), (active.State, Assert.Single(active.Labs).LabId));

        Clock.Set(r.EndsAt - Warning - TimeSpan.FromSeconds(1));
        await TickAsync(S.Server);
        Assert.DoesNotContain(await EventsOfAsync(S.Server, lab.Id), e => e.Level == LabEventLevel.Warning);
        Clock.Set(r.EndsAt - Warning);
        await TickAsync(S.Server);
        await TickAsync(S.Server);
        var warning = Assert.Single(await EventsOfAsync(S.Server, lab.Id), e => e.Level == LabEventLevel.Warning);
        Assert.Contains($"reservation 'timed' ends at {Ltb.Server.Reservations.Shortage.Instant(r.EndsAt)} (in 10 min)", warning.Message);

        Clock.Set(r.EndsAt);
        await TickAsync(S.Server);
        await TickAsync(S.Server);
        var tasks = await TasksOfAsync(S.Server, lab.Id);
        Assert.Single(tasks, t => t.Kind == LabTaskKind.Removal);
        var ended = await Http.ReadAsync<ReservationDto>(await user.GetAsync($"/api/v1/reservations/{r.Id}"), 200);
        Assert.Equal("ended", ended.State);
        // Its capacity is free again for the window's last moments.
        Assert.Empty(await InScopeAsync(S.Server, db => db.ReservationHostShares.Where(s => s.ReservationId == r.Id).ToListAsync()));
    }

    [Fact]
    public async Task After_downtime_a_missed_start_deploys_a_missed_window_ends_and_a_missed_end_removes()
    {
        await using var hosts = new TestHosts(S.Admin, S.BaseAddress);
        await hosts.AddAsync("cu", 4, 4096);
        using var user = await UserAsync("rcu");
        var now = Clock.GetUtcNow();
        var open = await BookAsync(user, "open", now.AddHours(1), TimeSpan.FromHours(2));
        var passed = await BookAsync(user, "passed", now.AddHours(1), TimeSpan.FromMinutes(30));

        // Down from before both starts until inside "open" and after "passed".
        Clock.Set(now.AddHours(1).AddMinutes(45));
        await TickAsync(S.Server);
        Assert.Single(await LabsOfAsync(S.Server, open.Id));
        Assert.Empty(await LabsOfAsync(S.Server, passed.Id));
        var missed = await Http.ReadAsync<ReservationDto>(await user.GetAsync($"/api/v1/reservations/{passed.Id}"), 200);
        Assert.Equal("ended", missed.State);
        Assert.Contains("passed while no scheduler ran", missed.Notice);

        // Down again past the end of "open": one pass warns and removes.
        Clock.Set(now.AddHours(4));
        await TickAsync(S.Server);
        var lab = Assert.Single(await LabsOfAsync(S.Server, open.Id));
        Assert.Single(await TasksOfAsync(S.Server, lab.Id), t => t.Kind == LabTaskKind.Removal);
        Assert.Equal("ended", (await Http.ReadAsync<ReservationDto>(await user.GetAsync($"/api/v1/reservations/{open.Id}"), 200)).State);
    }

    [Fact]
    public async Task The_owner_extends_while_capacity_allows_up_to_the_maximum()
    {
        await using var hosts = new TestHosts(S.Admin, S.BaseAddress);
        var host = await hosts.AddAsync("ext", 1, 4096);
        using var owner = await UserAsync("rx");
        using var other = await UserAsync("ry");
        var start = Clock.GetUtcNow().AddHours(1);
        var r = await BookAsync(owner, "extend", start, TimeSpan.FromHours(1));
        var next = await BookAsync(other, "next", start.AddHours(1).AddMinutes(30) + Lead, TimeSpan.FromHours(1));
        Clock.Set(start);
        await TickAsync(S.Server);

        var extended = await Http.ReadAsync<ReservationDto>(await owner.PostAsJsonAsync($"/api/v1/reservations/{r.Id}/extend",
            new ExtendReservationRequest(r.EndsAt.AddMinutes(20))), 200);
        Assert.Equal((r.EndsAt.AddMinutes(20), 1), (extended.EndsAt, extended.Extensions));
        // Past the next booking's start: the host is short.
        var refused = await RefusedAsync(await owner.PostAsJsonAsync($"/api/v1/reservations/{r.Id}/extend",
            new ExtendReservationRequest(r.EndsAt.AddMinutes(45))));
        Assert.Contains($"host '{host.Name}' is short of CPU", refused.GetProperty("detail").GetString());
        // Beyond the policy's maximum (60 minutes past the booked end), whatever the capacity.
        await Http.ReadAsync<ReservationDto>(await other.DeleteAsync($"/api/v1/reservations/{next.Id}"), 200);
        var tooLong = await RefusedAsync(await owner.PostAsJsonAsync($"/api/v1/reservations/{r.Id}/extend",
            new ExtendReservationRequest(r.EndsAt.AddMinutes(61))));
        Assert.Contains("maxExtensionMinutes", tooLong.GetProperty("detail").GetString());
        // Only its owner (and admins) extend it; another student does not even see it.
        Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsJsonAsync($"/api/v1/reservations/{r.Id}/extend",
            new ExtendReservationRequest(r.EndsAt.AddMinutes(30)))).StatusCode);
    }

    [Fact]
    public async Task Ad_hoc_labs_must_fit_beside_reservations_for_their_lifetime_and_are_warned_then_removed()
    {
        await using var hosts = new TestHosts(S.Admin, S.BaseAddress);
        await hosts.AddAsync("adhoc", 1, 4096);
        await S.SetPolicyAsync(TenantPolicy.Default with
        {
            RoleQuotas = new Dictionary<string, Quota>(StringComparer.Ordinal) { ["student"] = new() { LabLifetimeHours = 1 } },
        });
        try
        {
            using var booker = await UserAsync("rab");
            using var student = await UserAsync("rad");
            var now = Clock.GetUtcNow();
            var soon = await BookAsync(booker, "soon", now.AddMinutes(40), TimeSpan.FromHours(1));
            using (var form = LabTestSupport.Upload(ReservationServerSetup.OneNode(ServerFixture.Unique("adhoc"))))
            {
                var refused = await student.PostAsync("/api/v1/labs", form);
                Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            }
            await Http.ReadAsync<ReservationDto>(await booker.DeleteAsync($"/api/v1/reservations/{soon.Id}"), 200);
            await BookAsync(booker, "later", now.AddHours(2), TimeSpan.FromHours(1));
            using var again = LabTestSupport.Upload(ReservationServerSetup.OneNode(ServerFixture.Unique("adhoc")));
            var accepted = await Http.ReadAsync<LabTaskAccepted>(await student.PostAsync("/api/v1/labs", again), 202);
            var lab = await InScopeAsync(S.Server, db => db.Labs.AsNoTracking().FirstAsync(l => l.Id == accepted.Lab.Id));
            Assert.Equal(now.AddHours(1), lab.ExpiresAt);
            // As if its deployment had run (no agent here).
            await InScopeAsync(S.Server, db => db.Labs.Where(l => l.Id == lab.Id).ExecuteUpdateAsync(s => s.SetProperty(l => l.State, LabLifecycle.Running)));

            Clock.Set(now.AddHours(1) - Warning);
            await TickAsync(S.Server);
            Assert.Contains(await EventsOfAsync(S.Server, lab.Id), e => e.Level == LabEventLevel.Warning && e.Message.Contains("reaches its lifetime"));
            Assert.DoesNotContain(await TasksOfAsync(S.Server, lab.Id), t => t.Kind == LabTaskKind.Removal);
            Clock.Set(now.AddHours(1));
            await TickAsync(S.Server);
            await TickAsync(S.Server);
            Assert.Single(await TasksOfAsync(S.Server, lab.Id), t => t.Kind == LabTaskKind.Removal);
        }
        finally
        {
            await S.SetPolicyAsync(TenantPolicy.Default);
        }
    }
}

public sealed class ReservationSchedulerTestsOnSqlite(SqliteReservationServer fixture) : ReservationSchedulerTests<SqliteReservationServer>(fixture);

public sealed class ReservationSchedulerTestsOnPostgres(PostgresReservationServer fixture) : ReservationSchedulerTests<PostgresReservationServer>(fixture);
