using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Ltb.Server.Labs;

/// <summary>
/// At every start, before requests are served: makes the store and the hosts agree again after a crash or `kill -9`.
/// <list type="number">
/// <item>Tasks left Running were cut off: they become Interrupted and their lab Failed with a message saying to destroy or
/// redeploy (a cut-off removal is queued again: removal is idempotent).</item>
/// <item>Queued tasks are queued again.</item>
/// <item>Running labs the agent holds nothing of become Failed.</item>
/// <item>Labs an agent holds that the store does not know (or knows as removed) are destroyed: they are orphans of a
/// deployment whose row was never written or of a removal that was cut off.</item>
/// </list>
/// </summary>
public sealed class LabReconciler(LtbDbContext db, IAgentDirectory agents, ILabTaskQueue queue, ILogger<LabReconciler> log)
{
    public const string RestartReason = "interrupted by a server restart";

    public async Task RunAsync(CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var requeue = new List<LabTask>();
        foreach (var task in await db.LabTasks.Where(t => t.State == LabTaskState.Running).ToListAsync(ct))
        {
            var lab = await db.Labs.FirstAsync(l => l.Id == task.LabId, ct);
            var message = $"lab '{lab.Name}': {LabTaskRunner.Interrupted(task, RestartReason)}";
            task.State = LabTaskState.Interrupted;
            task.Error = message;
            task.FinishedAt = now;
            task.Log += message + "\n";
            lab.State = LabLifecycle.Failed;
            lab.Error = message;
            lab.UpdatedAt = now;
            db.LabEvents.Add(new LabEvent { LabId = lab.Id, At = now, Level = LabEventLevel.Error, Message = message });
            if (task.Kind == LabTaskKind.Removal)
            {
                requeue.Add(NewTask(lab, LabTaskKind.Removal, "{}", now));
            }
        }
        // Labs stuck in a transient state without a task (a crash between the two writes) are failed the same way.
        var busy = await db.LabTasks.Where(t => t.State == LabTaskState.Queued).Select(t => t.LabId).ToListAsync(ct);
        foreach (var lab in await db.Labs.Where(l => l.State == LabLifecycle.Deploying || l.State == LabLifecycle.Destroying).ToListAsync(ct))
        {
            if (!busy.Contains(lab.Id) && lab.State != LabLifecycle.Failed)
            {
                lab.State = LabLifecycle.Failed;
                lab.Error = $"lab '{lab.Name}': {RestartReason}; destroy or redeploy the lab";
            }
        }
        db.LabTasks.AddRange(requeue);
        await db.SaveChangesAsync(ct);

        foreach (var task in await db.LabTasks.Where(t => t.State == LabTaskState.Queued).OrderBy(t => t.CreatedAt).ToListAsync(ct))
        {
            queue.Enqueue(task.HostId, task.Id);
        }
        await RemoveOrphansAsync(ct);
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
            await ReconcileAsync(host, agent, held, ct);
        }
    }

    /// <summary>After a remote agent registered: its labs (as it rebuilt them from its engine) against the store.</summary>
    public async Task ReconcileHostAsync(Guid hostId, IReadOnlyList<string> held, CancellationToken ct)
    {
        var host = await db.LabHosts.FirstAsync(h => h.Id == hostId, ct);
        if (agents.For(host) is { } agent)
        {
            await ReconcileAsync(host, agent, held, ct);
        }
    }

    private async Task ReconcileAsync(LabHost host, ILabHostAgent agent, IReadOnlyList<string> held, CancellationToken ct)
    {
        // A host also holds its part of labs that span hosts (their layout names it): those are not orphans either.
        var part = host.Id.ToString();
        var labs = await db.Labs.Where(l => (l.HostId == host.Id || (l.LayoutJson != null && l.LayoutJson.Contains(part))) && l.State != LabLifecycle.Removed)
            .ToListAsync(ct);
        var known = labs.Select(l => l.RuntimeName).ToHashSet(StringComparer.Ordinal);
        // A running lab the host holds nothing of (the host was wiped or rebuilt) is failed, so the user sees it.
        foreach (var lost in labs.Where(l => l.State == LabLifecycle.Running && !held.Contains(l.RuntimeName)))
        {
            lost.State = LabLifecycle.Failed;
            lost.Error = $"lab '{lost.Name}': host '{host.Name}' holds nothing of it any more; destroy or redeploy the lab";
            db.LabEvents.Add(new LabEvent { LabId = lost.Id, At = DateTimeOffset.UtcNow, Level = LabEventLevel.Error, Message = lost.Error });
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
