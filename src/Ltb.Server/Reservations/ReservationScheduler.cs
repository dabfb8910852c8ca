using System.Globalization;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Ltb.Server.Policy;
using Ltb.Server.Snapshots;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ltb.Server.Reservations;

/// <summary>
/// The scheduler (the original LTB's Celery beat), driven by the store and <see cref="TimeProvider"/>, not by timers per
/// reservation: every <see cref="LtbServerOptions.SchedulerInterval"/> it looks for due work and does it: deploy a
/// reservation's labs at its start minus the lead time, warn their users before the end (a warning event of each lab),
/// remove them at the end; warn an ad-hoc lab before its expiry and remove it then. After downtime the same query finds
/// what was missed: a start whose window is still open deploys at once, one whose window passed ends it, a missed end
/// removes. Each step is claimed with one conditional update of its row (state, warned-at, expiry) inside the
/// transaction that writes its effects (labs, tasks, events): with several replicas exactly one claims it, and a crash
/// before the commit leaves it unclaimed for the next tick. Tasks are enqueued after the commit (a task saved without
/// its job is queued again by the reconciler at start).
/// </summary>
public sealed class ReservationScheduler(IServiceScopeFactory scopes, ILabTaskQueue queue, TimeProvider clock, LtbServerOptions options,
    ILogger<ReservationScheduler> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.SchedulerInterval <= TimeSpan.Zero)
        {
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await TickAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                log.LogWarning(e, "reservation scheduler: a pass failed; the next one retries");
            }
            // Real time between passes: what is due is decided by the clock, whichever it is.
            await Task.Delay(options.SchedulerInterval, TimeProvider.System, stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>One pass over everything due now (what tests call with a controlled clock). Answers how many steps it took.</summary>
    public async Task<int> TickAsync(CancellationToken ct)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        var labs = scope.ServiceProvider.GetRequiredService<ReservationLabs>();
        var snapshots = scope.ServiceProvider.GetRequiredService<SnapshotRequests>();
        var policy = await scope.ServiceProvider.GetRequiredService<PolicyStore>().CurrentAsync(ct);
        var now = clock.GetUtcNow();
        var warnFrom = now.AddSeconds(policy.Scheduling.WarningSeconds);
        var steps = 0;

        foreach (var (id, endsAt) in (await db.Reservations.AsNoTracking()
                     .Where(r => r.State == ReservationState.Scheduled && r.HoldsFrom <= now).Select(r => new { r.Id, r.EndsAt }).ToListAsync(ct))
                 .Select(r => (r.Id, r.EndsAt)))
        {
            var done = endsAt <= now
                ? await EndAsync(db, id, ReservationState.Ended, "its window passed while no scheduler ran; nothing was deployed", ct)
                : await StartAsync(db, labs, id, ct);
            steps += done ? 1 : 0;
        }
        foreach (var id in await db.Reservations.AsNoTracking()
                     .Where(r => r.State == ReservationState.Active && r.WarnedAt == null && r.EndsAt <= warnFrom).Select(r => r.Id).ToListAsync(ct))
        {
            steps += await WarnAsync(db, id, ct) ? 1 : 0;
        }
        foreach (var id in await db.Reservations.AsNoTracking()
                     .Where(r => r.State == ReservationState.Active && r.EndsAt <= now).Select(r => r.Id).ToListAsync(ct))
        {
            steps += await EndAsync(db, id, ReservationState.Ended, "its window ended", ct, snapshots) ? 1 : 0;
        }
        steps += await LabExpiry.RunAsync(db, queue, now, warnFrom, ct);
        return steps;
    }

    /// <summary>Claims a scheduled reservation's start and creates its labs (each a deployment task on its planned host).</summary>
    private async Task<bool> StartAsync(LtbDbContext db, ReservationLabs labs, Guid id, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var queued = new List<(Guid Host, Guid Task)>();
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            if (await db.Reservations.Where(r => r.Id == id && r.State == ReservationState.Scheduled)
                    .ExecuteUpdateAsync(s => s.SetProperty(r => r.State, ReservationState.Active).SetProperty(r => r.Version, r => r.Version + 1), ct) == 0)
            {
                return false;
            }
            var r = await db.Reservations.FirstAsync(x => x.Id == id, ct);
            var plan = ReservationPlan.Parse(r.PlanJson);
            var failures = new List<string>();
            for (var i = 0; i < plan.Count; i++)
            {
                var (lab, task, error) = await labs.CreateAsync(r, plan[i], now, ct);
                if (lab is null)
                {
                    failures.Add($"{plan[i].Recipient}: {error}");
                    continue;
                }
                plan[i] = plan[i] with { LabId = lab.Id };
                queued.Add((lab.HostId, task!.Id));
            }
            r.PlanJson = ReservationPlan.ToJson(plan);
            r.Notice = failures.Count == 0 ? null : $"at {Shortage.Instant(now)} no lab could be created for {string.Join("; ", failures)}";
            r.UpdatedAt = now;
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        queued.ForEach(q => queue.Enqueue(q.Host, q.Task));
        if (log.IsEnabled(LogLevel.Information))
        {
            log.LogInformation("reservation {Id}: started, {Labs} lab(s) queued for deployment", id, queued.Count);
        }
        return true;
    }

    /// <summary>Claims the end warning of an active reservation and writes it as a warning event of each of its labs.</summary>
    private async Task<bool> WarnAsync(LtbDbContext db, Guid id, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        if (await db.Reservations.Where(r => r.Id == id && r.State == ReservationState.Active && r.WarnedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.WarnedAt, now), ct) == 0)
        {
            return false;
        }
        var r = await db.Reservations.AsNoTracking().FirstAsync(x => x.Id == id, ct);
        var minutes = Math.Max(0, (int)Math.Ceiling((r.EndsAt - now).TotalMinutes));
        foreach (var labId in await LabsOfAsync(db, id, ct))
        {
            db.LabEvents.Add(new LabEvent { LabId = labId, At = now, Level = LabEventLevel.Warning,
                Message = $"reservation '{r.Name}' ends at {Shortage.Instant(r.EndsAt)} (in {minutes} min): this lab will be removed then" +
                    (r.SnapshotAtEnd ? ", after a snapshot that you can restore later (ltb lab snapshot list); or " : "; save your work, or ") +
                    "ask the owner to extend the reservation" });
        }
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }

    /// <summary>
    /// Claims the end of a scheduled or active reservation (ended or cancelled): its capacity is released and each of its
    /// labs gets a removal task; a reservation that asks for it, at its end, has each running lab snapshotted first (the
    /// removal runs after the snapshot task, whatever its outcome). False when another replica or request ended it first.
    /// </summary>
    /// <param name="snapshots">Where snapshots are asked for (the same context as <paramref name="db"/>); null: none.</param>
    public async Task<bool> EndAsync(LtbDbContext db, Guid id, ReservationState state, string why, CancellationToken ct,
        SnapshotRequests? snapshots = null)
    {
        var now = clock.GetUtcNow();
        var queued = new List<(Guid Host, Guid Task)>();
        await using (IDbContextTransaction tx = await db.Database.BeginTransactionAsync(ct))
        {
            if (await db.Reservations.Where(r => r.Id == id && (r.State == ReservationState.Scheduled || r.State == ReservationState.Active))
                    .ExecuteUpdateAsync(s => s.SetProperty(r => r.State, state).SetProperty(r => r.Notice, why)
                        .SetProperty(r => r.UpdatedAt, now).SetProperty(r => r.Version, r => r.Version + 1), ct) == 0)
            {
                return false;
            }
            await db.ReservationHostShares.Where(s => s.ReservationId == id).ExecuteDeleteAsync(ct);
            var ended = await db.Reservations.Where(r => r.Id == id).Select(r => new { r.Name, r.SnapshotAtEnd }).FirstAsync(ct);
            foreach (var lab in await db.Labs.Where(l => l.ReservationId == id && l.State != LabLifecycle.Removed && l.State != LabLifecycle.Destroying)
                         .ToListAsync(ct))
            {
                var saved = state == ReservationState.Ended && ended.SnapshotAtEnd && snapshots is not null
                    ? await SnapshotBeforeRemovalAsync(db, snapshots, lab, ended.Name, now, ct) : null;
                if (saved is not null)
                {
                    queued.Add((lab.HostId, saved.Id));
                }
                // Queued after the snapshot, the removal's job continues the snapshot's (LabTaskQueue: a lab's tasks run in order).
                var task = LabReconciler.NewTask(lab, LabTaskKind.Removal, "{}", now);
                db.LabTasks.Add(task);
                db.LabEvents.Add(new LabEvent { LabId = lab.Id, At = now, Level = LabEventLevel.Info,
                    Message = $"removal: reservation '{ended.Name}' {(state == ReservationState.Cancelled ? "was " + why : "ended")}" });
                queued.Add((lab.HostId, task.Id));
            }
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        queued.ForEach(q => queue.Enqueue(q.Host, q.Task));
        if (log.IsEnabled(LogLevel.Information))
        {
            log.LogInformation("reservation {Id}: {State} ({Why}), {Labs} lab(s) queued for removal", id, state, why, queued.Count);
        }
        return true;
    }

    /// <summary>The snapshot task of a lab whose reservation ends (its owner's snapshot, named after the reservation and the end), or null with a warning event saying why not.</summary>
    private static async Task<LabTask?> SnapshotBeforeRemovalAsync(LtbDbContext db, SnapshotRequests snapshots, Lab lab, string reservation,
        DateTimeOffset now, CancellationToken ct)
    {
        var stamp = now.UtcDateTime.ToString("yyyyMMdd-HHmm", CultureInfo.InvariantCulture);
        var name = $"{reservation[..Math.Min(reservation.Length, 40 - stamp.Length - 5)]}-end-{stamp}";
        var (requested, conflict) = await snapshots.AddAsync(lab, name, lab.OwnerId, $"reservation '{reservation}' at its end", now, ct);
        if (requested is null)
        {
            var owner = await db.Users.Where(u => u.Id == lab.OwnerId).Select(u => u.UserName).FirstOrDefaultAsync(ct) ?? "";
            db.LabEvents.Add(new LabEvent { LabId = lab.Id, At = now, Level = LabEventLevel.Warning,
                Message = $"reservation '{reservation}' ended: no snapshot of this lab for {owner} before its removal: {conflict}" });
        }
        return requested?.Task;
    }

    private static Task<List<Guid>> LabsOfAsync(LtbDbContext db, Guid reservation, CancellationToken ct) =>
        db.Labs.Where(l => l.ReservationId == reservation && l.State != LabLifecycle.Removed).Select(l => l.Id).ToListAsync(ct);
}
