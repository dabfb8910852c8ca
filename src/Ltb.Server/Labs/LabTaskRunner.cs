using System.Collections.Concurrent;
using System.Text.Json;
using Ltb.Runtime.Status;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs.Tasks;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Labs;

/// <summary>
/// Executes one task (called by its Hangfire job, <see cref="LabTaskJob"/>): claims it (Queued -> Running, one more
/// attempt, in one conditional update, so two executors never both run it), hands the work to the handler of its kind
/// (<see cref="ILabTaskHandler"/>: what the task does and what its success and failure mean for the lab), and persists
/// progress and log lines as they come (flushed about once a second from this one thread, so the DbContext is never
/// shared) and the outcome. A task whose host is away waits (rescheduled, no attempt used) up to
/// <see cref="LtbServerOptions.HostAwayTimeout"/>; a failure the handler's <see cref="LabTaskRetry"/> calls transient
/// is retried up to its attempts. A new task kind is a handler (Labs/Tasks), not a change here.
/// </summary>
public sealed class LabTaskRunner(LtbDbContext db, IAgentDirectory agents, LtbServerOptions serverOptions, LabJobs jobs,
    LabTaskHandlers handlers, LabJournal journal, HostTaskSlots slots)
{
    /// <summary>How task inputs are stored (<see cref="LabTaskInput"/>).</summary>
    public static JsonSerializerOptions Json => LabTaskInput.Json;
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
        using var slot = await slots.TakeAsync(seen.HostId, ct)
            ?? throw new RetryLaterException(HostTaskSlots.Backoff, $"the host runs {serverOptions.LabTasksPerHost} tasks already");
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

        if (await ClaimAsync(taskId, ct) is not { } task)
        {
            return; // another executor took it first
        }
        var handler = handlers.For(task.Kind);
        var attempts = (handler?.Retry ?? LabTaskRetry.Never).Attempts(serverOptions);
        journal.TaskLine(task, $"attempt {task.Attempts} of {attempts} on replica '{serverOptions.ReplicaName}'", DateTimeOffset.UtcNow, progress: false);
        await db.SaveChangesAsync(ct);

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        object? result;
        try
        {
            if (handler is null)
            {
                throw new NotSupportedException($"this server cannot run {task.Kind} tasks (written by a newer version?)");
            }
            if (agent is null)
            {
                throw new LabRuntimeException(lab.RuntimeName, null, $"host '{host.Name}' has no connected agent");
            }
            // Every task ends: the runtime bounds a deployment itself, this bounds any task (a removal, a hung engine).
            limit.CancelAfter(TaskTimeout);
            result = await WorkAsync(handler, task, lab, agent, limit.Token, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // This replica is stopping: the task goes back to the queue and runs again (as a retry) on another replica
            // or at the next start; Hangfire keeps the job queued because it was aborted by the shutdown.
            await BackToQueueAsync(task, lab, "the server stopped", CancellationToken.None);
            throw;
        }
        catch (Exception e) when (handler is not null && Retried(handler.Retry, e, limit) && task.Attempts < attempts)
        {
            var delay = LabTaskRetry.Delay(task.Attempts);
            var why = $"attempt {task.Attempts} failed: {Message(e, lab)}; trying again in {delay.TotalSeconds:0} s";
            await BackToQueueAsync(task, lab, why, CancellationToken.None);
            throw new RetryLaterException(delay, why);
        }
        catch (Exception e)
        {
            await FinishAsync(task, lab, handler, Message(e, lab), null, CancellationToken.None);
            return;
        }
        // The state changes only here, with the end time, in one save: a reader never sees "succeeded" without it.
        await FinishAsync(task, lab, handler, null, result, CancellationToken.None);
    }

    /// <summary>Queued -> Running with one more attempt, in one conditional update: null when another executor took it.</summary>
    private async Task<LabTask?> ClaimAsync(Guid taskId, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var claimed = await db.LabTasks.Where(t => t.Id == taskId && t.State == LabTaskState.Queued)
            .ExecuteUpdateAsync(u => u
                .SetProperty(t => t.State, LabTaskState.Running)
                .SetProperty(t => t.StartedAt, t => t.StartedAt ?? now)
                .SetProperty(t => t.Attempts, t => t.Attempts + 1)
                .SetProperty(t => t.Error, (string?)null), ct);
        return claimed == 0 ? null : await db.LabTasks.FirstAsync(t => t.Id == taskId, ct);
    }

    /// <summary>
    /// The handler's part: the lab's state while it runs (saved first), then its work, with progress flushed about once
    /// a second from this thread (the work never touches the DbContext).
    /// </summary>
    private async Task<object?> WorkAsync(ILabTaskHandler handler, LabTask task, Lab lab, ILabHostAgent agent, CancellationToken limit,
        CancellationToken ct)
    {
        handler.Begin(task, lab);
        await db.SaveChangesAsync(ct);
        var run = new LabTaskRun(lab.Id, lab.Name, lab.RuntimeName, task.Attempts, agent, new Progress(_pending));
        var work = handler.RunAsync(task, run, limit);
        while (await Task.WhenAny(work, Task.Delay(TimeSpan.FromSeconds(1), ct)) != work)
        {
            await FlushAsync(task, lab, ct);
        }
        return await work;
    }

    /// <summary>The task's time limit is final; any other failure is the handler's to judge.</summary>
    private static bool Retried(LabTaskRetry retry, Exception e, CancellationTokenSource limit) =>
        !(e is OperationCanceledException && limit.IsCancellationRequested) && retry.Retries(e);

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
                await FinishAsync(task, lab, handlers.For(task.Kind), error, null, ct);
            }
            return;
        }
        var waiting = $"waiting for host '{host.Name}' ({silent})";
        if (task.Progress != waiting)
        {
            journal.TaskLine(task, waiting, DateTimeOffset.UtcNow, progress: true);
            await db.SaveChangesAsync(ct);
        }
        throw new RetryLaterException(HostAwayPoll, waiting);
    }

    /// <summary>Puts a claimed task back in the queue (it keeps its attempts); the lab stays in its transient state.</summary>
    private async Task BackToQueueAsync(LabTask task, Lab lab, string why, CancellationToken ct)
    {
        await FlushAsync(task, lab, ct);
        task.State = LabTaskState.Queued;
        journal.TaskLine(task, why, DateTimeOffset.UtcNow, progress: true);
        journal.Event(lab, LabEventLevel.Warning, why);
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

    /// <summary>
    /// Ends a claimed task: its state and end time, and what that means for the lab (the handler's part), in one save.
    /// A failure is recorded on the task and as an event of the lab whatever the kind; whether the lab fails with it is
    /// the handler's decision (a task without a handler leaves the lab as it is).
    /// </summary>
    private async Task FinishAsync(LabTask task, Lab lab, ILabTaskHandler? handler, string? error, object? result, CancellationToken ct)
    {
        await FlushAsync(task, lab, ct);
        task.State = error is null ? LabTaskState.Succeeded : LabTaskState.Failed;
        task.FinishedAt = DateTimeOffset.UtcNow;
        error = error is null ? null : ServerPaths.OfLab(error, serverOptions.DataDirectory, lab.Id);
        task.Error = error;
        if (error is not null)
        {
            task.Log += error + "\n";
            journal.Event(lab, LabEventLevel.Error, error);
            if (handler is not null)
            {
                await handler.FailedAsync(task, lab, error, ct);
            }
        }
        else
        {
            await handler!.SucceededAsync(task, lab, result, ct);
        }
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
            journal.TaskLine(task, e.Node is null ? message : $"{e.Node}: {message}", e.Time, progress: true);
            journal.Event(lab, e.Kind switch { RuntimeEventKind.Error => LabEventLevel.Error, RuntimeEventKind.Warning => LabEventLevel.Warning, _ => LabEventLevel.Info },
                message, e.Node, e.Time);
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
        return LabJournal.Truncate(text.Replace($"'{lab.RuntimeName}'", $"'{lab.Name}'", StringComparison.Ordinal), LabJournal.MaxMessage);
    }

    /// <summary>Collects events from the agent's threads without touching the DbContext (IProgress&lt;T&gt; would post to a context).</summary>
    private sealed class Progress(ConcurrentQueue<RuntimeEvent> queue) : IProgress<RuntimeEvent>
    {
        public void Report(RuntimeEvent value) => queue.Enqueue(value);
    }
}
