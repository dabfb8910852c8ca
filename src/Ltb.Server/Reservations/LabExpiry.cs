using Ltb.Server.Data;
using Ltb.Server.Labs;
using Ltb.Topology.Policy;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Reservations;

/// <summary>
/// Ad-hoc labs (deployed without a reservation) of users whose role quota sets a lifetime
/// (<see cref="Quota.LabLifetimeHours"/>): <see cref="Lab.ExpiresAt"/> is set at deployment; the scheduler warns before
/// it (a warning event, once: <see cref="Lab.ExpiryWarnedAt"/>) and removes the lab when it is reached (claimed by
/// clearing <see cref="Lab.ExpiresAt"/> in the transaction that writes the removal task).
/// </summary>
public static class LabExpiry
{
    /// <summary>The lifetime of an ad-hoc lab of <paramref name="roles"/>: the shortest their role quotas set; null: none (admins never expire).</summary>
    public static TimeSpan? Lifetime(TenantPolicy policy, IEnumerable<string> roles, bool admin) =>
        admin ? null : roles.Select(r => policy.RoleQuotas.GetValueOrDefault(r)?.LabLifetimeHours).OfType<double>()
            .Select(TimeSpan.FromHours).Cast<TimeSpan?>().Min();

    public static async Task<int> RunAsync(LtbDbContext db, ILabTaskQueue queue, DateTimeOffset now, DateTimeOffset warnFrom, CancellationToken ct)
    {
        var steps = 0;
        var live = new[] { LabLifecycle.Pending, LabLifecycle.Deploying, LabLifecycle.Running, LabLifecycle.Failed };
        foreach (var id in await db.Labs.AsNoTracking()
                     .Where(l => l.ExpiresAt != null && l.ExpiryWarnedAt == null && l.ExpiresAt <= warnFrom && live.Contains(l.State))
                     .Select(l => l.Id).ToListAsync(ct))
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            if (await db.Labs.Where(l => l.Id == id && l.ExpiryWarnedAt == null).ExecuteUpdateAsync(s => s.SetProperty(l => l.ExpiryWarnedAt, now), ct) == 0)
            {
                continue;
            }
            var expires = await db.Labs.Where(l => l.Id == id).Select(l => l.ExpiresAt).FirstAsync(ct);
            db.LabEvents.Add(new LabEvent { LabId = id, At = now, Level = LabEventLevel.Warning,
                Message = $"this lab reaches its lifetime at {Shortage.Instant(expires!.Value)} and will be removed then; save your work" });
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            steps++;
        }
        // Running or failed: a lab still deploying is removed on the pass after its deployment ends.
        foreach (var id in await db.Labs.AsNoTracking()
                     .Where(l => l.ExpiresAt != null && l.ExpiresAt <= now && (l.State == LabLifecycle.Running || l.State == LabLifecycle.Failed))
                     .Select(l => l.Id).ToListAsync(ct))
        {
            (Guid Host, Guid Task)? queued = null;
            await using (var tx = await db.Database.BeginTransactionAsync(ct))
            {
                if (await db.Labs.Where(l => l.Id == id && l.ExpiresAt != null).ExecuteUpdateAsync(s => s.SetProperty(l => l.ExpiresAt, (DateTimeOffset?)null), ct) == 0)
                {
                    continue;
                }
                var lab = await db.Labs.AsNoTracking().FirstAsync(l => l.Id == id, ct);
                var task = LabReconciler.NewTask(lab, LabTaskKind.Removal, "{}", now);
                db.LabTasks.Add(task);
                db.LabEvents.Add(new LabEvent { LabId = id, At = now, Level = LabEventLevel.Info, Message = "removal: the lab reached its lifetime" });
                await db.SaveChangesAsync(ct);
                await tx.CommitAsync(ct);
                queued = (lab.HostId, task.Id);
            }
            queue.Enqueue(queued.Value.Host, queued.Value.Task);
            steps++;
        }
        return steps;
    }
}
