using System.Net;
using Ltb.Server.Data;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Usage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.Usage;

/// <summary>
/// A class: students A and B and instructor I in G1, student C in G2. Their labs' usage history is written straight into
/// the store (three days ago, hour rows): A 2 node-hours in a lab of its own, B 1 in a lab shared with G1, C 4.
/// </summary>
public sealed class UsageClassServer : SqliteServer
{
    public static readonly DateTimeOffset Day = UsageBuckets.Floor(DateTimeOffset.UtcNow - TimeSpan.FromDays(3), UsageTier.Hour);

    public UserDto A { get; private set; } = null!;
    public UserDto B { get; private set; } = null!;
    public UserDto C { get; private set; } = null!;
    public UserDto I { get; private set; } = null!;
    public GroupDto G1 { get; private set; } = null!;
    public Guid LabOfA { get; } = Guid.NewGuid();

    protected override async Task SeedAsync()
    {
        A = await CreateUserAsync("ua");
        B = await CreateUserAsync("ub");
        C = await CreateUserAsync("uc");
        I = await CreateUserAsync("ui", "instructor");
        G1 = await CreateGroupAsync("ug1", A.Id, B.Id, I.Id);
        var g2 = await CreateGroupAsync("ug2", C.Id);
        await using var scope = Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        var host = (await db.LabHosts.FirstAsync(h => h.IsLocal)).Id;
        var secondOfC = Guid.NewGuid();
        // A: two nodes for an hour; B: one node for an hour in G1's lab; C: two nodes for two hours.
        db.UsageRecords.AddRange(
            Row(host, LabOfA, "a-lab", "r1", A.Id, null, Day),
            Row(host, LabOfA, "a-lab", "r2", A.Id, null, Day),
            Row(host, Guid.NewGuid(), "b-lab", "r1", B.Id, G1.Id, Day),
            Row(host, Guid.NewGuid(), "c-lab", "r1", C.Id, g2.Id, Day),
            Row(host, secondOfC, "c-lab2", "r1", C.Id, g2.Id, Day),
            Row(host, secondOfC, "c-lab2", "r1", C.Id, g2.Id, Day + TimeSpan.FromHours(1)),
            Row(host, Guid.NewGuid(), "c-lab3", "r1", C.Id, g2.Id, Day + TimeSpan.FromHours(1)));
        await db.SaveChangesAsync();
    }

    /// <summary>A node busy for a whole hour: half a core, 512 MiB.</summary>
    private static UsageRecord Row(Guid host, Guid lab, string labName, string node, Guid owner, Guid? group, DateTimeOffset start) => new()
    {
        Tier = UsageTier.Hour, Start = start, HostId = host, LabId = lab, Node = node, LabName = labName, OwnerId = owner, GroupId = group,
        NodeSeconds = 3600, CpuSeconds = 1800, MemoryByteSeconds = 512.0 * (1 << 20) * 3600, RxBytes = 1000, TxBytes = 2000,
    };
}

/// <summary>
/// Accounting and usage history by whom (issue #16): admins see everyone's, instructors their groups' members' and
/// labs', students their own only; the figures are the rows' sums (node-hours, core-hours, GiB-hours).
/// </summary>
public sealed class UsageReportTests(UsageClassServer s) : IClassFixture<UsageClassServer>
{
    private static readonly string Period =
        $"from={Uri.EscapeDataString(UsageClassServer.Day.AddDays(-1).ToString("O"))}&to={Uri.EscapeDataString(UsageClassServer.Day.AddDays(1).ToString("O"))}";

    [Fact]
    public async Task Admins_see_every_user_instructors_their_groups_students_themselves()
    {
        s.Require();
        var admin = await ReportAsync(s.Admin, "user");
        Assert.Equal([(s.C.UserName, 4.0), (s.A.UserName, 2.0), (s.B.UserName, 1.0)], admin.Rows.Select(r => (r.Name, r.NodeHours)).ToArray());
        Assert.Equal((7.0, 3.5, 3.5), (admin.Total.NodeHours, admin.Total.CpuHours, admin.Total.MemoryGibHours));
        Assert.Equal((7000L, 14000L), (admin.Total.RxBytes, admin.Total.TxBytes));

        using var instructor = await s.LoginAsync(s.I.UserName, ServerFixture.UserPassword);
        var teaching = await ReportAsync(instructor, "user");
        Assert.Equal([(s.A.UserName, 2.0), (s.B.UserName, 1.0)], teaching.Rows.Select(r => (r.Name, r.NodeHours)).ToArray());

        using var a = await s.LoginAsync(s.A.UserName, ServerFixture.UserPassword);
        var own = await ReportAsync(a, "lab");
        Assert.Equal([("a-lab", 2.0)], own.Rows.Select(r => (r.Name, r.NodeHours)).ToArray());
        Assert.Equal(s.LabOfA, own.Rows[0].Id);
        // B's lab is shared with A's group, but its usage is B's: a student sees only their own.
        Assert.Equal(2.0, (await ReportAsync(a, "user")).Total.NodeHours);
    }

    [Fact]
    public async Task Reports_group_by_the_labs_group_lab_and_host()
    {
        s.Require();
        var groups = await ReportAsync(s.Admin, "group");
        Assert.Equal(("(none)", 2.0), groups.Rows.Where(r => r.Id is null).Select(r => (r.Name, r.NodeHours)).Single());
        Assert.Equal((s.G1.Name, 1.0), groups.Rows.Where(r => r.Id == s.G1.Id).Select(r => (r.Name, r.NodeHours)).Single());
        Assert.Equal(4.0, groups.Rows.Single(r => r.Id is not null && r.Id != s.G1.Id).NodeHours);
        var labs = await ReportAsync(s.Admin, "lab");
        Assert.Equal([2.0, 2.0, 1.0, 1.0, 1.0], labs.Rows.Select(r => r.NodeHours).ToArray());
        Assert.Equal(("c-lab2", 2.0), labs.Rows.Where(r => r.Name == "c-lab2").Select(r => (r.Name, r.NodeHours)).Single());
        Assert.Equal(7.0, Assert.Single((await ReportAsync(s.Admin, "host")).Rows).NodeHours);
        Assert.Equal("local", (await ReportAsync(s.Admin, "host")).Rows[0].Name);
    }

    [Fact]
    public async Task The_history_sums_per_step_what_the_caller_sees()
    {
        s.Require();
        var all = await Http.ReadAsync<UsageHistoryDto>(await s.Admin.GetAsync($"/api/v1/usage/history?{Period}&step=3600"), 200);
        Assert.Equal(3600, all.StepSeconds);
        var day = all.Points.Single(p => p.At == UsageClassServer.Day);
        Assert.Equal((5.0, 250.0, 5 * 512.0 * (1 << 20)), (day.Nodes, day.CpuPercent, day.MemoryBytes));
        Assert.Equal(2.0, all.Points.Single(p => p.At == UsageClassServer.Day.AddHours(1)).Nodes);
        Assert.Equal(7.0, all.Points.Sum(p => p.Nodes));

        using var a = await s.LoginAsync(s.A.UserName, ServerFixture.UserPassword);
        var own = await Http.ReadAsync<UsageHistoryDto>(await a.GetAsync($"/api/v1/usage/history?{Period}&step=3600"), 200);
        Assert.Equal(2.0, own.Points.Sum(p => p.Nodes));
        // Another's usage, asked for by name: nothing (the filter narrows what the caller sees; it never widens it).
        var others = await Http.ReadAsync<UsageHistoryDto>(await a.GetAsync($"/api/v1/usage/history?{Period}&step=3600&user={s.C.Id}"), 200);
        Assert.Equal(0, others.Points.Sum(p => p.Nodes));
        using var instructor = await s.LoginAsync(s.I.UserName, ServerFixture.UserPassword);
        var group = await Http.ReadAsync<UsageHistoryDto>(await instructor.GetAsync($"/api/v1/usage/history?{Period}&step=86400&group={s.G1.Id}"), 200);
        Assert.Equal(1.0 / 24, group.Points.Sum(p => p.Nodes), 3);
    }

    [Fact]
    public async Task Bad_periods_and_groupings_are_refused_with_what_to_write()
    {
        s.Require();
        var bad = await s.Admin.GetAsync("/api/v1/usage/report?by=course");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("user, group, lab, host", await bad.Content.ReadAsStringAsync());
        var backwards = await s.Admin.GetAsync($"/api/v1/usage/history?from={Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O"))}&to={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(-1).ToString("O"))}");
        Assert.Equal(HttpStatusCode.BadRequest, backwards.StatusCode);
        Assert.Contains("must be before", await backwards.Content.ReadAsStringAsync());
        var tooLong = await s.Admin.GetAsync($"/api/v1/usage/history?from={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddYears(-2).ToString("O"))}");
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await s.Admin.GetAsync("/api/v1/usage/history?step=5")).StatusCode);
        // A long period is summed in coarser steps: never more than a thousand points.
        var year = await Http.ReadAsync<UsageHistoryDto>(await s.Admin.GetAsync($"/api/v1/usage/history?from={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddDays(-365).ToString("O"))}"), 200);
        Assert.True(year.Points.Count <= UsageHistoryQueries.MaxPoints && year.StepSeconds % 3600 == 0, $"{year.Points.Count} points of {year.StepSeconds} s");
    }

    private static async Task<UsageReportDto> ReportAsync(HttpClient client, string by) =>
        await Http.ReadAsync<UsageReportDto>(await client.GetAsync($"/api/v1/usage/report?by={by}&{Period}"), 200);
}
