using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs.Tasks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Ltb.Server.Labs;

/// <summary>
/// At every start, before requests are served: makes the store and the hosts agree again after a crash or `kill -9`.
/// <list type="number">
/// <item>Embedded mode (the jobs lived in this process only): tasks left Running were cut off; they go back to the
/// queue and run again as a retry (a retried deployment removes what the cut-off attempt left, then deploys). Every
/// queued task is queued again, in its lab's order. With PostgreSQL the jobs survive: a task Running on a replica
/// that died is taken over by Hangfire once that replica stops keeping it (<see cref="LtbServerOptions.JobInvisibilityTimeout"/>)
/// and retried the same way, while a live replica's running tasks are left alone; only tasks that never got a job
/// (cut off between two writes) or whose job waits in a queue of an older release are queued here.</item>
/// <item>Running labs the agent holds nothing of become Failed; only labs that were running when the agent listed what
/// it holds (a lab deployed since is not judged by an older list).</item>
/// <item>Labs an agent holds that the store does not know (or knows as removed) are destroyed: they are orphans of a
/// deployment whose row was never written or of a removal that was cut off.</item>
/// </list>
/// </summary>
public sealed class LabReconciler(LtbDbContext db, IAgentDirectory agents, ILabTaskQueue queue, LabJobs jobs, LabJournal journal,
    ILogger<LabReconciler> log)
{
    public const string RestartReason = "interrupted by a server restart";

    public async Task RunAsync(CancellationToken ct)
    {
        if (jobs.InProcess)
        {
            foreach (var id in await db.LabTasks.Where(t => t.State == LabTaskState.Running).Select(t => t.Id).ToListAsync(ct))
            {
                await LabTaskRunner.CutOffAsync(db, id, RestartReason, ct);
            }
            // The job ids of the last run mean nothing to this process's storage.
            await db.LabTasks.Where(t => t.State == LabTaskState.Queued && t.JobId != null)
                .ExecuteUpdateAsync(u => u.SetProperty(t => t.JobId, (string?)null), ct);
        }
        else
        {
            await RequeueLegacyJobsAsync(ct);
        }
        // Labs stuck in a transient state without a task (a crash between the two writes) are failed.
        var busy = await db.LabTasks.Where(t => t.State == LabTaskState.Queued || t.State == LabTaskState.Running)
            .Select(t => t.LabId).ToListAsync(ct);
        foreach (var lab in await db.Labs.Where(l => l.State == LabLifecycle.Deploying || l.State == LabLifecycle.Destroying).ToListAsync(ct))
        {
            if (!busy.Contains(lab.Id))
            {
                journal.SetState(lab, LabLifecycle.Failed, $"lab '{lab.Name}': {RestartReason}; destroy or redeploy the lab");
            }
        }
        await db.SaveChangesAsync(ct);

        var waiting = await db.LabTasks.AsNoTracking().Where(t => t.State == LabTaskState.Queued && t.JobId == null).ToListAsync(ct);
        // In queue order (SQLite cannot order DateTimeOffset in SQL); a removal and a deployment created together (a
        // redeploy) were queued removal first.
        foreach (var task in waiting.OrderBy(t => t.CreatedAt).ThenBy(t => t.Kind == LabTaskKind.Removal ? 0 : 1))
        {
            queue.Enqueue(task.HostId, task.Id);
        }
        await RemoveOrphansAsync(ct);
    }

    /// <summary>
    /// Tasks queued by a release that had a queue per host (stopped before the upgrade): their jobs are deleted and the
    /// tasks queued again (below) on the one queue this release serves.
    /// </summary>
    private async Task RequeueLegacyJobsAsync(CancellationToken ct)
    {
        var queued = await db.LabTasks.Where(t => t.State == LabTaskState.Queued && t.JobId != null).ToListAsync(ct);
        foreach (var task in queued.Where(t => jobs.DeleteIfLegacy(t.JobId!)))
        {
            task.JobId = null;
        }
        await db.SaveChangesAsync(ct);
    }

    public static LabTask NewTask(Lab lab, LabTaskKind kind, string input, DateTimeOffset now) => new()
    {
        Id = Guid.NewGuid(), LabId = lab.Id, HostId = lab.HostId, Kind = kind, State = LabTaskState.Queued, InputJson = input, CreatedAt = now,
    };

    private async Task RemoveOrphansAsync(CancellationToken ct)
    {
        foreach (var host in await db.LabHosts.ToListAsync(ct))
        {
            if (agents.For(host) is not { } agent)
            {
                continue;
            }
            IReadOnlyList<string> held;
            var listedAt = DateTimeOffset.UtcNow;
            try
            {
                held = await agent.ListLabsAsync(ct);
            }
            catch (Exception e)
            {
                // A host without a working engine (or a remote agent not back yet) must not keep the control plane from
                // starting; a remote agent reports its labs when it registers again.
                log.LogWarning("cannot list the labs of host {Host}: {Error}", host.Name, e.Message);
                continue;
            }
            await ReconcileAsync(host, agent, held, listedAt, ct);
        }
    }

    /// <summary>
    /// After a remote agent registered: its labs (as it rebuilt them from its engine, reported at
    /// <paramref name="reportedAt"/>) against the store.
    /// </summary>
    public async Task ReconcileHostAsync(Guid hostId, IReadOnlyList<string> held, DateTimeOffset reportedAt, CancellationToken ct)
    {
        var host = await db.LabHosts.FirstAsync(h => h.Id == hostId, ct);
        if (agents.For(host) is { } agent)
        {
            await ReconcileAsync(host, agent, held, reportedAt, ct);
        }
    }

    /// <summary>
    /// <paramref name="held"/> is what the host held at <paramref name="heldAt"/>: a lab whose record changed since (deployed
    /// or reconfigured after the list was made, e.g. in the moment between an agent's registration and this reconcile)
    /// is not failed for missing from it.
    /// </summary>
    private async Task ReconcileAsync(LabHost host, ILabHostAgent agent, IReadOnlyList<string> held, DateTimeOffset heldAt, CancellationToken ct)
    {
        // A host also holds its part of labs that span hosts (they have a share of it): those are not orphans either.
        var labs = await db.Labs
            .Where(l => (l.HostId == host.Id || db.LabHostShares.Any(s => s.LabId == l.Id && s.HostId == host.Id)) && l.State != LabLifecycle.Removed)
            .ToListAsync(ct);
        var known = labs.Select(l => l.RuntimeName).ToHashSet(StringComparer.Ordinal);
        // A running lab the host holds nothing of (the host was wiped or rebuilt) is failed, so the user sees it.
        // Compared here, not in SQL: SQLite cannot compare DateTimeOffset there.
        foreach (var lost in labs.Where(l => l.State == LabLifecycle.Running && l.UpdatedAt <= heldAt && !held.Contains(l.RuntimeName)))
        {
            var error = $"lab '{lost.Name}': host '{host.Name}' holds nothing of it any more; destroy or redeploy the lab";
            journal.SetState(lost, LabLifecycle.Failed, error);
            journal.Event(lost, LabEventLevel.Error, error);
        }
        await db.SaveChangesAsync(ct);
        foreach (var orphan in held.Where(l => !known.Contains(l)))
        {
            log.LogWarning("removing lab {Lab} from host {Host}: the store does not know it (an orphan)", orphan, host.Name);
            try
            {
                await agent.DestroyAsync(orphan, null, ct);
            }
            catch (Exception e)
            {
                log.LogError("cannot remove the orphaned lab {Lab} from host {Host}: {Error}", orphan, host.Name, e.Message);
            }
        }
    }
}
