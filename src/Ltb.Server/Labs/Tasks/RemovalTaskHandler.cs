using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Labs.Tasks;

/// <summary>A removal needs nothing but the lab (stored as "{}").</summary>
public sealed record RemovalInput;

/// <summary>
/// Removes the lab from its host (works on half-deployed labs too). Success: the lab is Removed, its status snapshot
/// gone, and its folders on the controller deleted (except one a deployment queued behind the removal uses). Failure:
/// the lab is Failed with the error (destroyable again). Retries: transport failures, up to the server's attempts
/// (removal is idempotent).
/// </summary>
public sealed class RemovalTaskHandler(LtbDbContext db, LtbServerOptions serverOptions, LabStatusCache statuses, LabJournal journal)
    : LabTaskHandler<RemovalInput, bool>
{
    public override LabTaskKind Kind => LabTaskKind.Removal;

    public override void Begin(LabTask task, Lab lab) => journal.SetState(lab, LabLifecycle.Destroying, lab.Error);

    protected override async Task<bool> RunAsync(RemovalInput input, LabTaskRun run, CancellationToken ct)
    {
        await run.Agent.DestroyAsync(run.RuntimeName, run.Progress, ct);
        return true;
    }

    protected override async Task SucceededAsync(Lab lab, RemovalInput input, bool result, CancellationToken ct)
    {
        statuses.Forget(lab.Id);
        lab.StatusJson = null;
        await DeleteFoldersAsync(lab, ct);
        journal.SetState(lab, LabLifecycle.Removed, null);
        journal.Event(lab, LabEventLevel.Info, "lab destroyed");
    }

    public override Task FailedAsync(LabTask task, Lab lab, string error, CancellationToken ct)
    {
        statuses.Invalidate(lab.Id);
        journal.SetState(lab, LabLifecycle.Failed, error);
        return Task.CompletedTask;
    }

    /// <summary>
    /// A removed lab's folders go (its nodes are gone, so nothing mounts them; links a node left are removed, never
    /// followed), except the folder of a deployment waiting behind this removal (a failed lab deployed again).
    /// </summary>
    private async Task DeleteFoldersAsync(Lab lab, CancellationToken ct)
    {
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var json in await db.LabTasks.AsNoTracking()
            .Where(t => t.LabId == lab.Id && t.Kind == LabTaskKind.Deployment && t.State == LabTaskState.Queued)
            .Select(t => t.InputJson).ToListAsync(ct))
        {
            keep.UnionWith(LabFolders.Folders(LabTaskInput.Read<DeploymentInput>(json).Plan, serverOptions.DataDirectory, lab.Id));
        }
        try
        {
            LabFolders.Prune(serverOptions.DataDirectory, lab.Id, keep);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The lab is gone from its host all the same; the folder is the admin's to remove, and the lab says so.
            journal.Event(lab, LabEventLevel.Warning, $"the lab's files on the controller could not be deleted: {e.Message}");
        }
    }
}
