using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Json;
using Grpc.Core;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Labs;

/// <summary>What a deployment task carries: the plan for the host and how to deploy it.</summary>
public sealed record DeploymentInput(LabPlan Plan, AgentDeployOptions Options, bool Apply);

/// <summary>
/// Executes one task (called by its Hangfire job, <see cref="LabTaskJob"/>): claims it (Queued -> Running, one more
/// attempt, in one conditional update, so two executors never both run it), calls the lab's host agent, and persists
/// progress and log lines as they come (flushed about once a second from this one thread, so the DbContext is never
/// shared) and the outcome. A task whose host is away waits (rescheduled, no attempt used) up to
/// <see cref="LtbServerOptions.HostAwayTimeout"/>; one whose host could not be reached or whose connection dropped is
/// retried up to <see cref="LtbServerOptions.LabTaskAttempts"/> times; a retried deployment converges to the plan (the
/// host keeps a lab that runs whole from this very plan, else removes what is left and deploys again). Add a task kind here (a case in <see cref="ExecuteAsync"/>) with
/// its input record beside <see cref="DeploymentInput"/>.
/// </summary>
public sealed class LabTaskRunner(LtbDbContext db, IAgentDirectory agents, LtbServerOptions serverOptions, LabStatusCache statuses,
    LabJobs jobs)
{
    public static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;
    /// <summary>Longer than the runtime's own deploy timeout (10 min), so that its clearer message wins.</summary>
    public static readonly TimeSpan TaskTimeout = TimeSpan.FromMinutes(20);
    /// <summary>How often a task whose host is away looks again.</summary>
    public static readonly TimeSpan HostAwayPoll = TimeSpan.FromSeconds(5);
    private readonly ConcurrentQueue<RuntimeEvent> _pending = new();

    public async Task RunAsync(Guid taskId, CancellationToken ct)
    {
        var seen = await db.LabTasks.AsNoTracking().FirstOrDefaultAsync(t => t.Id == taskId, ct);
        if (seen is null)
        {
            return;
        }
        if (seen.State == LabTaskState.Running && !jobs.InProcess)
        {
            // Hangfire hands a job to a second worker only when the first one stopped keeping it (its replica died):
            // the attempt it ran was cut off, this one is a retry.
            await CutOffAsync(taskId, $"the replica that ran attempt {seen.Attempts} stopped answering", ct);
        }
        else if (seen.State != LabTaskState.Queued)
        {
            return;
        }
        var lab = await db.Labs.FirstAsync(l => l.Id == seen.LabId, ct);
        var host = await db.LabHosts.AsNoTracking().FirstAsync(h => h.Id == seen.HostId, ct);
        var agent = await agents.ForLabAsync(db, lab, ct); // a lab that spans hosts gets one agent over all of them
        if (!host.IsLocal || lab.LayoutJson is not null)
        {
            // A host that does not answer (its heartbeats stopped, or its agent is down but not yet declared
            // unreachable) is waited for: trying would only use up the task's attempts.
            var health = agent is null || host.State == LabHostState.Unreachable ? null : await agent.CheckAsync(ct);
            if (health is not { Reachable: true })
            {
                await WaitForHostAsync(seen, lab, host, health?.Message, ct);
                return;
            }
        }

        var now = DateTimeOffset.UtcNow;
        var claimed = await db.LabTasks.Where(t => t.Id == taskId && t.State == LabTaskState.Queued)
            .ExecuteUpdateAsync(u => u
                .SetProperty(t => t.State, LabTaskState.Running)
                .SetProperty(t => t.StartedAt, t => t.StartedAt ?? now)
                .SetProperty(t => t.Attempts, t => t.Attempts + 1)
                .SetProperty(t => t.Error, (string?)null), ct);
        if (claimed == 0)
        {
            return; // another executor took it first
        }
        var task = await db.LabTasks.FirstAsync(t => t.Id == taskId, ct);
        task.Log += $"{now:HH:mm:ss} attempt {task.Attempts} of {Math.Max(1, serverOptions.LabTaskAttempts)} on replica '{serverOptions.ReplicaName}'\n";
        await db.SaveChangesAsync(ct);

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            if (agent is null)
            {
                throw new LabRuntimeException(lab.RuntimeName, null, $"host '{host.Name}' has no connected agent");
            }
            // Every task ends: the runtime bounds a deployment itself, this bounds any task (a removal, a hung engine).
            limit.CancelAfter(TaskTimeout);
            var work = ExecuteAsync(agent, task, lab, new Progress(_pending), limit.Token);
            while (await Task.WhenAny(work, Task.Delay(TimeSpan.FromSeconds(1), ct)) != work)
            {
                await FlushAsync(task, lab, ct);
            }
            await work;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // This replica is stopping: the task goes back to the queue and runs again (as a retry) on another replica
            // or at the next start; Hangfire keeps the job queued because it was aborted by the shutdown.
            await BackToQueueAsync(task, lab, "the server stopped", CancellationToken.None);
            throw;
        }
        catch (Exception e) when (IsTransient(e, limit) && task.Attempts < serverOptions.LabTaskAttempts)
        {
            var delay = TimeSpan.FromSeconds(5 * task.Attempts);
            var why = $"attempt {task.Attempts} failed: {Message(e, lab)}; trying again in {delay.TotalSeconds:0} s";
            await BackToQueueAsync(task, lab, why, CancellationToken.None);
            throw new RetryLaterException(delay, why);
        }
        catch (Exception e)
        {
            await FinishAsync(task, lab, LabTaskState.Failed, Message(e, lab), CancellationToken.None);
            return;
        }
        // The state changes only here, with the end time, in one save: a reader never sees "succeeded" without it.
        await FinishAsync(task, lab, LabTaskState.Succeeded, null, CancellationToken.None);
    }

    /// <summary>
    /// Failures that say nothing about the lab: the host could not be reached, the connection dropped, the agent restarted
    /// (a new secret). The runtime's own verdicts (a missing image, a bad config: a LabRuntimeException from the agent)
    /// and the task's time limit are final.
    /// </summary>
    public static bool IsTransient(Exception e, CancellationTokenSource limit) => e switch
    {
        LabRuntimeException { InnerException: RpcException r } => IsTransient(r.StatusCode),
        RpcException r => IsTransient(r.StatusCode),
        // The agent's call was cancelled by the other side (it went away), not by this task's time limit.
        OperationCanceledException => !limit.IsCancellationRequested,
        HttpRequestException or IOException or SocketException => true,
        _ => false,
    };

    private static bool IsTransient(StatusCode code) => code is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Aborted
        or StatusCode.Unauthenticated or StatusCode.DeadlineExceeded or StatusCode.Cancelled;

    /// <summary>A task whose host is unreachable waits for it (rescheduled, no attempt used) up to the bound, then fails.</summary>
    private async Task WaitForHostAsync(LabTask seen, Lab lab, LabHost host, string? answer, CancellationToken ct)
    {
        var silent = answer ?? (host.LastSeenAt is { } seenAt ? $"silent since {seenAt:u}" : "its agent never registered");
        var since = host.LastSeenAt is { } last && last > seen.CreatedAt ? last : seen.CreatedAt;
        var task = await db.LabTasks.FirstAsync(t => t.Id == seen.Id, ct);
        if (DateTimeOffset.UtcNow - since > serverOptions.HostAwayTimeout)
        {
            var error = $"lab '{lab.Name}': host '{host.Name}' is unreachable ({silent}; last heartbeat {host.LastSeenAt?.ToString("u") ?? "never"}); the task waited " +
                $"{serverOptions.HostAwayTimeout.TotalMinutes:0.#} minutes for it and gave up. Start the host's agent, then run the task again";
            if (await db.LabTasks.Where(t => t.Id == seen.Id && t.State == LabTaskState.Queued)
                    .ExecuteUpdateAsync(u => u.SetProperty(t => t.State, LabTaskState.Running), ct) == 1)
            {
                task.State = LabTaskState.Running;
                await FinishAsync(task, lab, LabTaskState.Failed, error, ct);
            }
            return;
        }
        var waiting = $"waiting for host '{host.Name}' ({silent})";
        if (task.Progress != waiting)
        {
            task.Progress = waiting;
            task.Log += $"{DateTimeOffset.UtcNow:HH:mm:ss} {waiting}\n";
            await db.SaveChangesAsync(ct);
        }
        throw new RetryLaterException(HostAwayPoll, waiting);
    }

    /// <summary>Puts a claimed task back in the queue (it keeps its attempts); the lab stays in its transient state.</summary>
    private async Task BackToQueueAsync(LabTask task, Lab lab, string why, CancellationToken ct)
    {
        await FlushAsync(task, lab, ct);
        task.State = LabTaskState.Queued;
        task.Progress = why;
        task.Log += $"{DateTimeOffset.UtcNow:HH:mm:ss} {why}\n";
        db.LabEvents.Add(new LabEvent { LabId = lab.Id, At = DateTimeOffset.UtcNow, Level = LabEventLevel.Warning, Message = why });
        await db.SaveChangesAsync(ct);
    }

    /// <summary>A Running task whose executor is gone goes back to the queue, to run again as a retry.</summary>
    public static async Task<bool> CutOffAsync(LtbDbContext db, Guid taskId, string why, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var line = $"{now:HH:mm:ss} {why}; the task runs again\n";
        return await db.LabTasks.Where(t => t.Id == taskId && t.State == LabTaskState.Running)
            .ExecuteUpdateAsync(u => u
                .SetProperty(t => t.State, LabTaskState.Queued)
                .SetProperty(t => t.Progress, why)
                .SetProperty(t => t.Log, t => t.Log + line), ct) == 1;
    }

    private Task<bool> CutOffAsync(Guid taskId, string why, CancellationToken ct) => CutOffAsync(db, taskId, why, ct);

    private async Task ExecuteAsync(ILabHostAgent agent, LabTask task, Lab lab, IProgress<RuntimeEvent> progress, CancellationToken ct)
    {
        switch (task.Kind)
        {
            case LabTaskKind.Deployment:
                var input = JsonSerializer.Deserialize<DeploymentInput>(task.InputJson, Json)!;
                lab.State = LabLifecycle.Deploying;
                lab.Error = null;
                await db.SaveChangesAsync(ct);
                // A remote host receives the lab's uploaded files with the plan (the local one reads them where they are).
                var options = input.Options with { FilesRoot = LabFolders.FilesRoot(serverOptions.DataDirectory, lab.Id) };
                // A retry: an earlier attempt was cut off, in the middle or after it finished. The host keeps a lab
                // that runs whole from this very plan; else it removes what is left (removal works on half-deployed
                // labs) and deploys the whole plan again, so the lab ends exactly as planned either way.
                var retry = task.Attempts > 1;
                var status = input.Apply && !retry
                    ? await agent.ApplyAsync(input.Plan, options, progress, ct)
                    : await agent.DeployAsync(input.Plan, options with { Converge = retry }, progress, ct);
                lab.StatusJson = LabViews.Serialize(LabViews.Snapshot(status, LabViews.Kinds(lab), DateTimeOffset.UtcNow));
                lab.State = LabLifecycle.Running;
                statuses.Set(lab.Id, status);
                break;
            case LabTaskKind.Removal:
                lab.State = LabLifecycle.Destroying;
                await db.SaveChangesAsync(ct);
                await agent.DestroyAsync(lab.RuntimeName, progress, ct);
                statuses.Forget(lab.Id);
                lab.StatusJson = null;
                lab.State = LabLifecycle.Removed;
                lab.Error = null;
                break;
            default:
                throw new NotSupportedException($"{task.Kind} tasks are not implemented yet");
        }
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
            keep.UnionWith(LabFolders.Folders(JsonSerializer.Deserialize<DeploymentInput>(json, Json)!.Plan, serverOptions.DataDirectory, lab.Id));
        }
        try
        {
            LabFolders.Prune(serverOptions.DataDirectory, lab.Id, keep);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The lab is gone from its host all the same; the folder is the admin's to remove, and the lab says so.
            db.LabEvents.Add(new LabEvent { LabId = lab.Id, At = DateTimeOffset.UtcNow, Level = LabEventLevel.Warning,
                Message = $"the lab's files on the controller could not be deleted: {e.Message}" });
        }
    }

    private async Task FinishAsync(LabTask task, Lab lab, LabTaskState state, string? error, CancellationToken ct)
    {
        await FlushAsync(task, lab, ct);
        if (task.Kind == LabTaskKind.Removal && state == LabTaskState.Succeeded)
        {
            // Here, not in ExecuteAsync: the flush loop shares the DbContext while the task runs.
            await DeleteFoldersAsync(lab, ct);
        }
        task.State = state;
        task.FinishedAt = DateTimeOffset.UtcNow;
        error = error is null ? null : ServerPaths.OfLab(error, serverOptions.DataDirectory, lab.Id);
        task.Error = error;
        if (error is not null)
        {
            // What the host holds of a failed lab changed: the next reader inspects it.
            statuses.Invalidate(lab.Id);
            lab.State = LabLifecycle.Failed;
            lab.Error = error;
            task.Log += error + "\n";
            db.LabEvents.Add(new LabEvent { LabId = lab.Id, At = DateTimeOffset.UtcNow, Level = LabEventLevel.Error, Message = error });
        }
        else
        {
            db.LabEvents.Add(new LabEvent
            {
                LabId = lab.Id, At = DateTimeOffset.UtcNow, Level = LabEventLevel.Info,
                Message = task.Kind == LabTaskKind.Removal ? "lab destroyed" : "lab running",
            });
        }
        lab.UpdatedAt = DateTimeOffset.UtcNow;
        await db.SaveChangesAsync(ct);
    }

    private async Task FlushAsync(LabTask task, Lab lab, CancellationToken ct)
    {
        if (_pending.IsEmpty)
        {
            return;
        }
        while (_pending.TryDequeue(out var e))
        {
            // Runtime and agent messages may name the lab's folder on the host: users see paths relative to their topology.
            var message = ServerPaths.OfLab(e.Message, serverOptions.DataDirectory, lab.Id);
            var line = e.Node is null ? message : $"{e.Node}: {message}";
            task.Log += $"{e.Time:HH:mm:ss} {line}\n";
            task.Progress = Truncate(line, 2000);
            db.LabEvents.Add(new LabEvent
            {
                LabId = lab.Id, At = e.Time, Node = e.Node, Message = Truncate(message, 4000),
                Level = e.Kind switch { RuntimeEventKind.Error => LabEventLevel.Error, RuntimeEventKind.Warning => LabEventLevel.Warning, _ => LabEventLevel.Info },
            });
        }
        await db.SaveChangesAsync(ct);
    }

    /// <summary>The user's lab name instead of the runtime name in messages ("lab 'frr01'", not "lab 'frr01-1a2b3c'").</summary>
    private static string Message(Exception e, Lab lab)
    {
        var text = e switch
        {
            LabRuntimeException r => r.Message,
            OperationCanceledException => $"lab '{lab.RuntimeName}': the task did not finish within {TaskTimeout.TotalMinutes:0} minutes",
            _ => $"lab '{lab.RuntimeName}': {e.Message}",
        };
        return Truncate(text.Replace($"'{lab.RuntimeName}'", $"'{lab.Name}'", StringComparison.Ordinal), 4000);
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];

    /// <summary>Collects events from the agent's threads without touching the DbContext (IProgress&lt;T&gt; would post to a context).</summary>
    private sealed class Progress(ConcurrentQueue<RuntimeEvent> queue) : IProgress<RuntimeEvent>
    {
        public void Report(RuntimeEvent value) => queue.Enqueue(value);
    }
}
