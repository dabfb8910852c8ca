using System.Net;
using System.Net.Http.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Topology.Policy;
using static Ltb.Server.Tests.Reservations.ReservationApi;

namespace Ltb.Server.Tests.Reservations;

/// <summary>
/// Booking through the API with a controlled clock, on both databases: admission (fits, short of CPU, short of memory at
/// one instant, overcommit), the plan, the nearest window, updates, cancellation, quotas, racing bookings, a drained
/// host's re-plan and the iCalendar feed. Each test registers its own hosts (1 CPU and 256 MiB per lab of the template).
/// </summary>
public abstract class ReservationBookingTests<TServer>(TServer fixture) : IClassFixture<TServer>
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

    private Guid Template => fixture.TemplateId;

    /// <summary>A time well ahead of the clock, on a whole hour, so that windows read easily in messages.</summary>
    private DateTimeOffset Ahead(int days = 2)
    {
        var t = fixture.Clock.GetUtcNow().AddDays(days);
        return new DateTimeOffset(t.Year, t.Month, t.Day, 10, 0, 0, TimeSpan.Zero);
    }

    private async Task<HttpClient> UserAsync(string prefix, string role = "student") =>
        await S.LoginAsync((await S.CreateUserAsync(prefix, role)).UserName, ServerFixture.UserPassword);

    [Fact]
    public async Task A_group_booking_plans_one_lab_per_member_across_hosts()
    {
        await using var hosts = new TestHosts(S.Admin, S.BaseAddress);
        var big = await hosts.AddAsync("big", 2, 1024);
        var small = await hosts.AddAsync("small", 1, 512);
        var instructor = await S.CreateUserAsync("ri", "instructor");
        var (a, b) = (await S.CreateUserAsync("rsa", "student"), await S.CreateUserAsync("rsb", "student"));
        var group = await S.CreateGroupAsync("rg", instructor.Id, a.Id, b.Id);
        using var client = await S.LoginAsync(instructor.UserName, ServerFixture.UserPassword);
        var r = await CreateAsync(client, Request("ospf", Template, Ahead(), TimeSpan.FromHours(2), "members", group.Id));
        // Three members (the instructor books as one of them), a CPU each: two on the host with most memory left, one beside.
        Assert.Equal("scheduled", r.State);
        Assert.Equal((1.0, 256L << 20), (r.LabCpus, r.LabMemoryBytes));
        Assert.Equal(3, r.Labs.Count);
        Assert.Equal(new[] { instructor.UserName, a.UserName, b.UserName }.Order(StringComparer.Ordinal), r.Labs.Select(l => l.Recipient));
        Assert.Equal(2, r.Labs.Count(l => l.HostId == big.Id));
        Assert.Equal(1, r.Labs.Count(l => l.HostId == small.Id));
        // A student books for themselves only.
        using var student = await S.LoginAsync(a.UserName, ServerFixture.UserPassword);
        Assert.Equal(HttpStatusCode.Forbidden, (await student.PostAsJsonAsync("/api/v1/reservations",
            Request("mine", Template, Ahead(), TimeSpan.FromHours(1), "members", group.Id))).StatusCode);
    }

    [Fact]
    public async Task A_team_booking_plans_one_lab_per_team()
    {
        await using var hosts = new TestHosts(S.Admin, S.BaseAddress);
        await hosts.AddAsync("team", 4, 4096);
        var instructor = await S.CreateUserAsync("rti", "instructor");
        var (a, b) = (await S.CreateUserAsync("rta", "student"), await S.CreateUserAsync("rtb", "student"));
        var red = await S.CreateGroupAsync("red", instructor.Id, a.Id);
        var blue = await S.CreateGroupAsync("blue", instructor.Id, b.Id);
        using var client = await S.LoginAsync(instructor.UserName, ServerFixture.UserPassword);
        var r = await CreateAsync(client, Request("teams", Template, Ahead(), TimeSpan.FromHours(2), "teams") with { TeamIds = [red.Id, blue.Id] });
        // One lab per team (not per member): the team's name is the recipient.
        Assert.Equal(new[] { red.Name, blue.Name }.Order(StringComparer.Ordinal), r.Labs.Select(l => l.Recipient));
        // A team the instructor does not teach is refused.
        var other = await S.CreateGroupAsync("green", a.Id);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsJsonAsync("/api/v1/reservations",
            Request("not-mine", Template, Ahead(), TimeSpan.FromHours(1), "teams") with { TeamIds = [other.Id] })).StatusCode);
    }

    [Fact]
    public async Task Short_of_cpu_is_refused_naming_host_resource_instant_and_the_next_window()
    {
        await using var hosts = new TestHosts(S.Admin, S.BaseAddress);
        var host = await hosts.AddAsync("cpu", 1, 4096);
        using var first = await UserAsync("rc1");
        using var second = await UserAsync("rc2");
        var start = Ahead();
        var booked = await CreateAsync(first, Request("first", Template, start, TimeSpan.FromHours(1)));
        Assert.Equal(host.Name, Assert.Single(booked.Labs).Host);

        var refused = await RefusedAsync(await second.PostAsJsonAsync("/api/v1/reservations",
            Request("second", Template, start.AddMinutes(30), TimeSpan.FromHours(1))));
        var detail = refused.GetProperty("detail").GetString()!;
        var lead = TimeSpan.FromSeconds(TenantPolicy.Default.Scheduling.LeadSeconds);
        Assert.Contains($"host '{host.Name}' is short of CPU at {Instant(start.AddMinutes(30) - lead)}", detail);
        Assert.Contains("a lab needs 1 CPUs, 0 CPUs free of 1 CPUs", detail);
        var suggestion = refused.GetProperty("suggestion");
        // The first booking holds the host until 11:00; the second's labs may deploy then (its lead time after).
        Assert.Equal(start.AddHours(1) + lead, suggestion.GetProperty("startsAt").GetDateTimeOffset());
        Assert.Contains($"starts at {Instant(start.AddHours(1) + lead)}", detail);
        await CreateAsync(second, Request("second", Template, suggestion.GetProperty("startsAt").GetDateTimeOffset(), TimeSpan.FromHours(1)));
    }

    [Fact]
    public async Task Short_of_memory_at_one_instant_and_overcommit_counts()
    {
        await using var hosts = new TestHosts(S.Admin, S.BaseAddress);
        // 384 MiB reported, counted twice: room for three labs at once, never four.
        var host = await hosts.AddAsync("mem", 64, 384, memoryOvercommit: 2);
        using var user = await UserAsync("rm", "instructor"); // a student may have at most 3 labs at once
        var start = Ahead();
        var lead = TimeSpan.FromSeconds(TenantPolicy.Default.Scheduling.LeadSeconds);
        // Two labs from 10:00 to 10:20, one from 10:20 to 10:40 (minus the lead time), two again after; three for a minute at 10:45.
        await CreateAsync(user, Request("whole", Template, start, TimeSpan.FromHours(1)));
        await CreateAsync(user, Request("early", Template, start, TimeSpan.FromMinutes(20)));
        await CreateAsync(user, Request("late", Template, start.AddMinutes(40), TimeSpan.FromMinutes(20)));
        await CreateAsync(user, Request("blip", Template, start.AddMinutes(45), TimeSpan.FromMinutes(1)));
        var refused = await RefusedAsync(await user.PostAsJsonAsync("/api/v1/reservations",
            Request("middle", Template, start.AddMinutes(10), TimeSpan.FromMinutes(40))));
        var shortage = refused.GetProperty("shortages")[0];
        Assert.Equal((host.Name, "memory"), (shortage.GetProperty("host").GetString(), shortage.GetProperty("resource").GetString()));
        // The one full instant: when "blip" holds the host (its lead time before 10:45).
        Assert.Equal(start.AddMinutes(45) - lead, shortage.GetProperty("at").GetDateTimeOffset());
        Assert.Contains($"host '{host.Name}' is short of memory at {Instant(start.AddMinutes(45) - lead)} (a lab needs 256 MiB, 0 MiB free of 768 MiB)",
            refused.GetProperty("detail").GetString());
        // Ending before "blip" holds the host, it fits.
        await CreateAsync(user, Request("middle", Template, start.AddMinutes(10), TimeSpan.FromMinutes(30)));
    }

    [Fact]
    public async Task Updates_are_admitted_again_and_cancelling_frees_the_capacity()
    {
        await using var hosts = new TestHosts(S.Admin, S.BaseAddress);
        await hosts.AddAsync("upd", 1, 4096);
        using var user = await UserAsync("ru");
        var start = Ahead();
        var a = await CreateAsync(user, Request("a", Template, start, TimeSpan.FromHours(1)));
        var b = await CreateAsync(user, Request("b", Template, start.AddHours(2), TimeSpan.FromHours(1)));
        // Moving b onto a is refused and leaves b as it was.
        await RefusedAsync(await user.PatchAsJsonAsync($"/api/v1/reservations/{b.Id}", new UpdateReservationRequest(StartsAt: start.AddMinutes(30))));
        var unchanged = await Http.ReadAsync<ReservationDto>(await user.GetAsync($"/api/v1/reservations/{b.Id}"), 200);
        Assert.Equal(start.AddHours(2), unchanged.StartsAt);
        // Longer, still clear of a: admitted.
        var longer = await Http.ReadAsync<ReservationDto>(await user.PatchAsJsonAsync($"/api/v1/reservations/{b.Id}",
            new UpdateReservationRequest(EndsAt: start.AddHours(4))), 200);
        Assert.Equal(start.AddHours(4), longer.EndsAt);
        // Once a is cancelled, b may take its place.
        var cancelled = await Http.ReadAsync<ReservationDto>(await user.DeleteAsync($"/api/v1/reservations/{a.Id}"), 200);
        Assert.Equal("cancelled", cancelled.State);
        await Http.ReadAsync<ReservationDto>(await user.PatchAsJsonAsync($"/api/v1/reservations/{b.Id}",
            new UpdateReservationRequest(StartsAt: start.AddMinutes(30))), 200);
        Assert.Equal(HttpStatusCode.Conflict, (await user.DeleteAsync($"/api/v1/reservations/{a.Id}")).StatusCode);
    }

    [Fact]
    public async Task A_dry_run_answers_the_plan_or_the_refusal_and_books_nothing()
    {
        await using var hosts = new TestHosts(S.Admin, S.BaseAddress);
        var host = await hosts.AddAsync("dry", 1, 4096);
        using var user = await UserAsync("rdry");
        var start = Ahead();
        var fits = await Http.ReadAsync<ReservationDto>(await user.PostAsJsonAsync("/api/v1/reservations?dryRun=true",
            Request("dry", Template, start, TimeSpan.FromHours(1))), 200);
        Assert.Equal(host.Id, Assert.Single(fits.Labs).HostId);
        Assert.Empty((await Http.ReadAsync<Paged<ReservationDto>>(await user.GetAsync("/api/v1/reservations"), 200)).Items);
        // Booked for real, the same window then no longer fits, and the dry run says so as the booking would.
        var booked = await CreateAsync(user, Request("dry", Template, start, TimeSpan.FromHours(1)));
        var refusal = await RefusedAsync(await user.PostAsJsonAsync("/api/v1/reservations?dryRun=true", Request("dry2", Template, start, TimeSpan.FromHours(1))));
        Assert.Contains("short of CPU", refusal.GetProperty("detail").GetString());
        // A dry-run change leaves the reservation as it was.
        var later = start.AddHours(3);
        var moved = await Http.ReadAsync<ReservationDto>(await user.PatchAsJsonAsync($"/api/v1/reservations/{booked.Id}?dryRun=true",
            new UpdateReservationRequest(StartsAt: later, EndsAt: later.AddHours(1))), 200);
        Assert.Equal(later, moved.StartsAt);
        Assert.Equal(start, (await Http.ReadAsync<ReservationDto>(await user.GetAsync($"/api/v1/reservations/{booked.Id}"), 200)).StartsAt);
    }

    [Fact]
    public async Task Quotas_bound_window_length_notice_weekly_hours_and_labs_at_once()
    {
        await using var hosts = new TestHosts(S.Admin, S.BaseAddress);
        await hosts.AddAsync("quota", 16, 8192);
        await S.SetPolicyAsync(TenantPolicy.Default with
        {
            RoleQuotas = new Dictionary<string, Quota>(StringComparer.Ordinal)
            {
                ["student"] = new() { LongestWindowHours = 2, BookAheadDays = 14, ReservedHoursPerWeek = 3, RunningLabs = 1 },
            },
        });
        try
        {
            using var user = await UserAsync("rq");
            var start = Ahead(3);
            async Task<string> Refused(DateTimeOffset from, TimeSpan length) => (await RefusedAsync(await user.PostAsJsonAsync("/api/v1/reservations",
                Request("q", Template, from, length)))).GetProperty("detail").GetString()!;
            Assert.Contains("role 'student' may book windows of at most 2 hours; this one is 3", await Refused(start, TimeSpan.FromHours(3)));
            Assert.Contains("may book at most 14 days ahead", await Refused(start.AddDays(20), TimeSpan.FromHours(1)));
            await CreateAsync(user, Request("q1", Template, start, TimeSpan.FromHours(2)));
            Assert.Contains("may have at most 1 lab at once", await Refused(start.AddHours(1), TimeSpan.FromHours(1)));
            Assert.Contains("may book at most 3 lab hours in a week", await Refused(start.AddHours(5), TimeSpan.FromHours(2)));
            await CreateAsync(user, Request("q2", Template, start.AddHours(5), TimeSpan.FromHours(1)));
        }
        finally
        {
            await S.SetPolicyAsync(TenantPolicy.Default);
        }
    }

    [Fact]
    public async Task Of_bookings_racing_for_the_last_capacity_exactly_one_wins()
    {
        await using var hosts = new TestHosts(S.Admin, S.BaseAddress);
        await hosts.AddAsync("race", 1, 4096);
        var start = Ahead(5);
        var clients = new List<HttpClient>();
        for (var i = 0; i < 6; i++)
        {
            clients.Add(await UserAsync($"rr{i}"));
        }
        var answers = await Task.WhenAll(clients.Select((c, i) => c.PostAsJsonAsync("/api/v1/reservations",
            Request($"race{i}", Template, start.AddMinutes(i), TimeSpan.FromHours(1)))));
        Assert.Equal(1, answers.Count(a => a.StatusCode == HttpStatusCode.Created));
        Assert.Equal(5, answers.Count(a => a.StatusCode == HttpStatusCode.Conflict));
        clients.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task A_drained_host_has_its_reservations_planned_again_and_the_owner_told()
    {
        await using var hosts = new TestHosts(S.Admin, S.BaseAddress);
        var first = await hosts.AddAsync("d1", 1, 4096);
        using var user = await UserAsync("rd");
        var r = await CreateAsync(user, Request("drained", Template, Ahead(6), TimeSpan.FromHours(1)));
        Assert.Equal(first.Name, Assert.Single(r.Labs).Host);
        var second = await hosts.AddAsync("d2", 1, 4096);
        await Http.EnsureAsync(await S.Admin.PatchAsJsonAsync($"/api/v1/hosts/{first.Id}", new UpdateHostRequest(State: "draining")), 200, "drain");
        var moved = await Http.ReadAsync<ReservationDto>(await user.GetAsync($"/api/v1/reservations/{r.Id}"), 200);
        Assert.Equal(second.Name, Assert.Single(moved.Labs).Host);
        Assert.Contains($"host '{first.Name}' is draining; the labs were planned again on {second.Name}", moved.Notice);
        // With no host left, the owner is told that it no longer fits.
        await Http.EnsureAsync(await S.Admin.PatchAsJsonAsync($"/api/v1/hosts/{second.Id}", new UpdateHostRequest(State: "disabled")), 200, "disable");
        var stuck = await Http.ReadAsync<ReservationDto>(await user.GetAsync($"/api/v1/reservations/{r.Id}"), 200);
        Assert.Contains("no longer fit elsewhere", stuck.Notice);
    }

    [Fact]
    public async Task The_calendar_feed_lists_ones_reservations_at_a_secret_url_that_can_be_revoked()
    {
        await using var hosts = new TestHosts(S.Admin, S.BaseAddress);
        await hosts.AddAsync("cal", 4, 4096);
        using var user = await UserAsync("rcal");
        var r = await CreateAsync(user, Request("calendar", Template, Ahead(7), TimeSpan.FromHours(2)));
        var feed = await Http.ReadAsync<CalendarFeedDto>(await user.PostAsync("/api/v1/me/calendar", null), 201);
        using var anonymous = S.Anonymous();
        var ics = await anonymous.GetStringAsync(feed.Url);
        Assert.Contains("BEGIN:VCALENDAR", ics);
        Assert.Contains($"UID:{r.Id}@ltb", ics);
        Assert.Contains($"DTSTART:{r.StartsAt.UtcDateTime:yyyyMMdd'T'HHmmss}Z", ics);
        Assert.Contains("SUMMARY:Lab: calendar", ics);
        await Http.EnsureAsync(await user.DeleteAsync("/api/v1/me/calendar"), 204, "revoke");
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync(feed.Url)).StatusCode);
    }

    private static string Instant(DateTimeOffset at) => Ltb.Server.Reservations.Shortage.Instant(at);
}

public sealed class ReservationBookingTestsOnSqlite(SqliteReservationServer fixture) : ReservationBookingTests<SqliteReservationServer>(fixture);

public sealed class ReservationBookingTestsOnPostgres(PostgresReservationServer fixture) : ReservationBookingTests<PostgresReservationServer>(fixture);
