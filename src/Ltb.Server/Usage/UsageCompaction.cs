using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Usage;

/// <summary>The buckets of the history's tiers: UTC, aligned to multiples of their length since 0001-01-01.</summary>
public static class UsageBuckets
{
    /// <summary>How long rows of a tier stay before they are rolled into the next (the hour tier: the retention).</summary>
    public static readonly TimeSpan MinutesKept = TimeSpan.FromHours(1);
    public static readonly TimeSpan TenMinutesKept = TimeSpan.FromDays(1);

    public static TimeSpan Length(UsageTier tier) => TimeSpan.FromSeconds((int)tier);

    public static DateTimeOffset Floor(DateTimeOffset at, UsageTier tier) => Floor(at, Length(tier));

    public static DateTimeOffset Floor(DateTimeOffset at, TimeSpan length)
    {
        var utc = at.UtcTicks;
        return new DateTimeOffset(utc - utc % length.Ticks, TimeSpan.Zero);
    }

    /// <summary>The finest tier that holds everything from <paramref name="from"/> on (older rows were rolled up).</summary>
    public static UsageTier Finest(DateTimeOffset from, DateTimeOffset now) =>
        from >= Floor(now - MinutesKept, UsageTier.TenMinutes) ? UsageTier.Minute
        : from >= Floor(now - TenMinutesKept, UsageTier.Hour) ? UsageTier.TenMinutes
        : UsageTier.Hour;
}

/// <summary>
/// Keeps the history bounded: minute rows older than an hour become 10-minute rows, those older than a day hour rows,
/// and hour rows older than <see cref="LtbServerOptions.UsageRetention"/> go. A rollup is a move in one transaction
/// (delete the finer rows of one bucket, add their sums to the coarser row), so sums are kept exactly and two replicas
/// compacting at once cannot both move the same rows: the second one's delete finds fewer rows than it read and it
/// gives up that bucket. Per node that is at most 60 + 138 + 24 x retention-days rows.
/// </summary>
public sealed class UsageCompaction(LtbDbContext db, LtbServerOptions options)
{
    /// <summary>Buckets rolled up per tier and call: after a long downtime the rest follows at the next minutes.</summary>
    private const int BucketsPerCall = 200;

    public async Task CompactAsync(DateTimeOffset now, CancellationToken ct)
    {
        await RollUpAsync(UsageTier.Minute, UsageTier.TenMinutes, UsageBuckets.Floor(now - UsageBuckets.MinutesKept, UsageTier.TenMinutes), ct);
        await RollUpAsync(UsageTier.TenMinutes, UsageTier.Hour, UsageBuckets.Floor(now - UsageBuckets.TenMinutesKept, UsageTier.Hour), ct);
        var horizon = now - options.UsageRetention;
        await db.UsageRecords.Where(r => r.Start < horizon).ExecuteDeleteAsync(ct);
    }

    private async Task RollUpAsync(UsageTier fine, UsageTier coarse, DateTimeOffset before, CancellationToken ct)
    {
        for (var i = 0; i < BucketsPerCall; i++)
        {
            var oldest = await db.UsageRecords.Where(r => r.Tier == fine && r.Start < before).OrderBy(r => r.Start)
                .Select(r => (DateTimeOffset?)r.Start).FirstOrDefaultAsync(ct);
            if (oldest is not { } first)
            {
                return;
            }
            var bucket = UsageBuckets.Floor(first, coarse);
            if (!await MoveAsync(fine, coarse, bucket, bucket + UsageBuckets.Length(coarse), ct))
            {
                return; // another replica is at it: the next round looks again
            }
        }
    }

    private async Task<bool> MoveAsync(UsageTier fine, UsageTier coarse, DateTimeOffset bucket, DateTimeOffset end, CancellationToken ct)
    {
        db.ChangeTracker.Clear();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var rows = await db.UsageRecords.AsNoTracking().Where(r => r.Tier == fine && r.Start >= bucket && r.Start < end).ToListAsync(ct);
        var moved = await db.UsageRecords.Where(r => r.Tier == fine && r.Start >= bucket && r.Start < end).ExecuteDeleteAsync(ct);
        if (moved != rows.Count)
        {
            await tx.RollbackAsync(ct); // another replica moved them, or a late minute arrived: the next call sees the truth
            return false;
        }
        var existing = await db.UsageRecords.Where(r => r.Tier == coarse && r.Start == bucket).ToListAsync(ct);
        var into = existing.ToDictionary(r => (r.HostId, r.LabId, r.Node));
        foreach (var r in rows)
        {
            if (!into.TryGetValue((r.HostId, r.LabId, r.Node), out var sum))
            {
                into[(r.HostId, r.LabId, r.Node)] = sum = new UsageRecord
                {
                    Tier = coarse, Start = bucket, HostId = r.HostId, LabId = r.LabId, Node = r.Node,
                    LabName = r.LabName, OwnerId = r.OwnerId, GroupId = r.GroupId,
                };
                db.UsageRecords.Add(sum);
            }
            sum.NodeSeconds += r.NodeSeconds;
            sum.CpuSeconds += r.CpuSeconds;
            sum.MemoryByteSeconds += r.MemoryByteSeconds;
            sum.RxBytes += r.RxBytes;
            sum.TxBytes += r.TxBytes;
        }
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }
}
