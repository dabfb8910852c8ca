using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Usage;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>
/// Usage history, accounting and live sums (docs/api.md "Usage history and accounting"). A lab's history is read by
/// whoever reads the lab, a host's by administrators; the cross-cutting ones (history by user, group, lab or host,
/// reports, live sums) cover the usage the caller's <see cref="UsageScope"/> sees.
/// </summary>
public static class UsageHistoryEndpoints
{
    private static readonly TimeSpan DefaultHistory = TimeSpan.FromHours(1);
    private static readonly TimeSpan DefaultReport = TimeSpan.FromDays(30);

    public static RouteGroupBuilder MapUsageHistoryEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/labs/{lab}/usage/history", LabAsync).WithName("GetLabUsageHistory").WithTags("Labs")
            .WithSummary("A lab's (or with node, one node's) usage over a period, per step: nodes running, CPU, memory, bytes (default: the last hour)");
        api.MapGet("/hosts/{id:guid}/usage/history", HostAsync).WithName("GetHostUsageHistory").WithTags("Hosts")
            .WithSummary("A host's usage over a period (admin): the machine's CPU and memory, and its nodes' sums (default: the last hour)");
        var usage = api.MapGroup("/usage").WithTags("Usage");
        usage.MapGet("/", SumsAsync).WithName("GetUsageSums")
            .WithSummary("Live usage summed per user, group, lab or host (by), of the nodes the caller may see");
        usage.MapGet("/history", HistoryAsync).WithName("GetUsageHistory")
            .WithSummary("The usage the caller may see over a period, per step, optionally of one user, group, lab or host (default: the last hour)");
        usage.MapGet("/report", ReportAsync).WithName("GetUsageReport")
            .WithSummary("Accounting: node-hours, CPU-hours and memory-GiB-hours per user, group, lab or host (by) over a period (default: the last 30 days)");
        return api;
    }

    private static async Task<Results<Ok<UsageHistoryDto>, ProblemHttpResult, ValidationProblem>> LabAsync(
        [For(Operation.Read)] Authorized<Lab> authorized, string? node, DateTimeOffset? from, DateTimeOffset? to, int? step, LtbDbContext db,
        TimeProvider clock, CancellationToken ct)
    {
        if (UsageHistoryQueries.Period(from, to, step, clock.GetUtcNow(), DefaultHistory, out var error) is not { } period)
        {
            return Problems.Invalid("period", error!);
        }
        var id = authorized.Value.Id;
        var rows = db.UsageRecords.AsNoTracking().Where(r => r.LabId == id);
        if (!string.IsNullOrEmpty(node))
        {
            rows = rows.Where(r => r.Node == node);
        }
        return TypedResults.Ok(new UsageHistoryDto(period.From, period.To, (int)period.Step.TotalSeconds,
            await UsageHistoryQueries.SeriesAsync(rows, period, ct)));
    }

    private static async Task<Results<Ok<HostUsageHistoryDto>, ProblemHttpResult, ValidationProblem>> HostAsync(
        [For(Operation.ReadUsage)] Authorized<LabHost> host, DateTimeOffset? from, DateTimeOffset? to, int? step, LtbDbContext db,
        TimeProvider clock, CancellationToken ct)
    {
        if (UsageHistoryQueries.Period(from, to, step, clock.GetUtcNow(), DefaultHistory, out var error) is not { } period)
        {
            return Problems.Invalid("period", error!);
        }
        var id = host.Value.Id;
        var rows = db.UsageRecords.AsNoTracking().Where(r => r.HostId == id);
        return TypedResults.Ok(new HostUsageHistoryDto(id, host.Value.Name, period.From, period.To, (int)period.Step.TotalSeconds,
            await UsageHistoryQueries.SeriesAsync(rows.Where(r => r.LabId == Guid.Empty), period, ct),
            await UsageHistoryQueries.SeriesAsync(rows.Where(r => r.LabId != Guid.Empty), period, ct)));
    }

    private static async Task<Results<Ok<UsageHistoryDto>, ValidationProblem>> HistoryAsync(Guid? user, Guid? group, Guid? lab, Guid? host,
        DateTimeOffset? from, DateTimeOffset? to, int? step, Caller caller, LtbDbContext db, TimeProvider clock, CancellationToken ct)
    {
        if (UsageHistoryQueries.Period(from, to, step, clock.GetUtcNow(), DefaultHistory, out var error) is not { } period)
        {
            return Problems.Invalid("period", error!);
        }
        var rows = (await UsageScope.ForAsync(caller, db, ct)).Filter(db.UsageRecords.AsNoTracking());
        rows = user is { } u ? rows.Where(r => r.OwnerId == u) : rows;
        rows = group is { } g ? rows.Where(r => r.GroupId == g) : rows;
        rows = lab is { } l ? rows.Where(r => r.LabId == l) : rows;
        rows = host is { } h ? rows.Where(r => r.HostId == h) : rows;
        return TypedResults.Ok(new UsageHistoryDto(period.From, period.To, (int)period.Step.TotalSeconds,
            await UsageHistoryQueries.SeriesAsync(rows, period, ct)));
    }

    private static async Task<Results<Ok<UsageReportDto>, ValidationProblem>> ReportAsync(string? by, DateTimeOffset? from, DateTimeOffset? to,
        Caller caller, LtbDbContext db, TimeProvider clock, CancellationToken ct)
    {
        if (Grouping(by, "user", out var invalid) is not { } grouping)
        {
            return invalid!;
        }
        by = grouping;
        if (UsageHistoryQueries.Period(from, to, null, clock.GetUtcNow(), DefaultReport, out var error) is not { } period)
        {
            return Problems.Invalid("period", error!);
        }
        var rows = (await UsageScope.ForAsync(caller, db, ct)).Filter(db.UsageRecords.AsNoTracking());
        // The period as asked: rows count whole, by their bucket's start (a minute within the last hour, an hour after a day).
        return TypedResults.Ok(await UsageHistoryQueries.ReportAsync(rows, db, by, (from ?? period.To - DefaultReport).ToUniversalTime(), period.To, ct));
    }

    private static async Task<Results<Ok<UsageSumsDto>, ValidationProblem>> SumsAsync(string? by, Caller caller, LtbDbContext db, UsageBoard board,
        CancellationToken ct)
    {
        if (Grouping(by, "lab", out var invalid) is not { } grouping)
        {
            return invalid!;
        }
        by = grouping;
        return TypedResults.Ok(await UsageSums.OfAsync(board, db, await UsageScope.ForAsync(caller, db, ct), by, ct));
    }

    /// <summary>The sums' grouping (user, group, lab or host; <paramref name="fallback"/> when none is given), or why not.</summary>
    private static string? Grouping(string? by, string fallback, out ValidationProblem? invalid)
    {
        var grouping = string.IsNullOrEmpty(by) ? fallback : by.ToLowerInvariant();
        invalid = UsageHistoryQueries.Groupings.Contains(grouping) ? null
            : Problems.Invalid("by", $"'{grouping}' is not a grouping: give one of {string.Join(", ", UsageHistoryQueries.Groupings)}");
        return invalid is null ? grouping : null;
    }
}
