using System.Linq.Expressions;
using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Usage;

/// <summary>A period of the usage history and the step its series is summed in.</summary>
public sealed record UsagePeriod(DateTimeOffset From, DateTimeOffset To, TimeSpan Step);

/// <summary>
/// Reads the usage history (<see cref="UsageRecord"/>): series summed per step and accounting reports grouped by user,
/// group, lab or host. Rows are sums over time, so every figure is a sum in the database; a step's average is its sum
/// divided by the step.
/// </summary>
public static class UsageHistoryQueries
{
    public const int MaxPoints = 1000;
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(400);
    public static readonly string[] Groupings = ["user", "group", "lab", "host"];

    /// <summary>
    /// The period asked for (defaults: up to now, <paramref name="defaultLength"/> long) and its step: the one asked for
    /// (seconds), but never finer than the tier the period's oldest rows are kept in nor so fine that there are more than
    /// <see cref="MaxPoints"/> points; a multiple of that tier, and the period's start aligned to it. Null with the
    /// reason when the period makes no sense.
    /// </summary>
    public static UsagePeriod? Period(DateTimeOffset? from, DateTimeOffset? to, int? stepSeconds, DateTimeOffset now, TimeSpan defaultLength,
        out string? error)
    {
        var end = (to ?? now).ToUniversalTime();
        var start = (from ?? end - defaultLength).ToUniversalTime();
        error = start >= end ? $"'from' ({start:u}) must be before 'to' ({end:u})"
            : end - start > MaxRange ? $"the period is {(end - start).TotalDays:0} days long; ask for {MaxRange.TotalDays:0} days at most"
            : stepSeconds is < 60 or > 31 * 86400 ? "give 'step' in seconds, from 60 (a minute) to 2678400 (31 days)"
            : null;
        if (error is not null)
        {
            return null;
        }
        var tier = UsageBuckets.Length(UsageBuckets.Finest(start, now));
        var wanted = Math.Max(stepSeconds ?? 0, Math.Max(tier.TotalSeconds, Math.Ceiling((end - start).TotalSeconds / MaxPoints)));
        var step = TimeSpan.FromSeconds(Math.Ceiling(wanted / tier.TotalSeconds) * tier.TotalSeconds);
        return new UsagePeriod(UsageBuckets.Floor(start, step), end, step);
    }

    /// <summary>The rows summed per step, one point per step of the period (zeros where nothing ran).</summary>
    public static async Task<IReadOnlyList<UsagePointDto>> SeriesAsync(IQueryable<UsageRecord> rows, UsagePeriod p, CancellationToken ct)
    {
        var sums = await rows.Where(r => r.Start >= p.From && r.Start < p.To).GroupBy(r => r.Start)
            .Select(g => new
            {
                Start = g.Key, Nodes = g.Sum(r => r.NodeSeconds), Cpu = g.Sum(r => r.CpuSeconds), Memory = g.Sum(r => r.MemoryByteSeconds),
                Rx = g.Sum(r => r.RxBytes), Tx = g.Sum(r => r.TxBytes),
            }).ToListAsync(ct);
        var byStep = sums.GroupBy(s => UsageBuckets.Floor(s.Start, p.Step)).ToDictionary(g => g.Key);
        var seconds = p.Step.TotalSeconds;
        var points = new List<UsagePointDto>();
        for (var at = p.From; at < p.To; at += p.Step)
        {
            points.Add(byStep.TryGetValue(at, out var g)
                ? new UsagePointDto(at, Math.Round(g.Sum(s => s.Nodes) / seconds, 3), Math.Round(g.Sum(s => s.Cpu) / seconds * 100, 2),
                    Math.Round(g.Sum(s => s.Memory) / seconds), g.Sum(s => s.Rx), g.Sum(s => s.Tx))
                : new UsagePointDto(at, 0, 0, 0, 0, 0));
        }
        return points;
    }

    /// <summary>Node-hours, CPU-hours and memory-GiB-hours of the rows in the period, per user, group, lab or host, largest first.</summary>
    public static async Task<UsageReportDto> ReportAsync(IQueryable<UsageRecord> rows, LtbDbContext db, string by, DateTimeOffset from,
        DateTimeOffset to, CancellationToken ct)
    {
        Expression<Func<UsageRecord, Guid?>> key = by switch
        {
            "user" => r => r.OwnerId,
            "group" => r => r.GroupId,
            "lab" => r => r.LabId,
            _ => r => r.HostId,
        };
        var sums = await rows.Where(r => r.Start >= from && r.Start < to).GroupBy(key)
            .Select(g => new
            {
                g.Key, Nodes = g.Sum(r => r.NodeSeconds), Cpu = g.Sum(r => r.CpuSeconds), Memory = g.Sum(r => r.MemoryByteSeconds),
                Rx = g.Sum(r => r.RxBytes), Tx = g.Sum(r => r.TxBytes),
            }).ToListAsync(ct);
        var names = await NamesAsync(db, rows, by, sums.Where(s => s.Key is not null).Select(s => s.Key!.Value).ToList(), ct);
        var lines = sums.Select(s => Line(s.Key, s.Key is { } k ? names.GetValueOrDefault(k, k.ToString()) : "(none)", s.Nodes, s.Cpu, s.Memory, s.Rx, s.Tx))
            .OrderByDescending(l => l.NodeHours).ThenBy(l => l.Name, StringComparer.Ordinal).ToList();
        var total = Line(null, "total", sums.Sum(s => s.Nodes), sums.Sum(s => s.Cpu), sums.Sum(s => s.Memory), sums.Sum(s => s.Rx), sums.Sum(s => s.Tx));
        return new UsageReportDto(from, to, by, lines, total);
    }

    private static UsageReportRowDto Line(Guid? id, string name, double nodeSeconds, double cpuSeconds, double memoryByteSeconds, long rx, long tx) =>
        new(id, name, Math.Round(nodeSeconds / 3600, 4), Math.Round(cpuSeconds / 3600, 4), Math.Round(memoryByteSeconds / (1L << 30) / 3600, 4), rx, tx);

    /// <summary>Names as they are now; a lab by the name it had when it ran; a deleted user or group by its id.</summary>
    private static async Task<Dictionary<Guid, string>> NamesAsync(LtbDbContext db, IQueryable<UsageRecord> rows, string by, List<Guid> ids,
        CancellationToken ct) => by switch
    {
        "user" => await db.Users.AsNoTracking().Where(u => ids.Contains(u.Id)).ToDictionaryAsync(u => u.Id, u => u.UserName ?? "", ct),
        "group" => await db.Groups.AsNoTracking().Where(g => ids.Contains(g.Id)).ToDictionaryAsync(g => g.Id, g => g.Name, ct),
        "lab" => (await rows.Where(r => ids.Contains(r.LabId)).Select(r => new { r.LabId, r.LabName }).Distinct().ToListAsync(ct))
            .GroupBy(r => r.LabId).ToDictionary(g => g.Key, g => g.First().LabName),
        _ => await db.LabHosts.AsNoTracking().Where(h => ids.Contains(h.Id)).ToDictionaryAsync(h => h.Id, h => h.Name, ct),
    };
}
