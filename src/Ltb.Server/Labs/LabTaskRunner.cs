using System.Collections.Concurrent;
using System.Text.Json;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Labs;

/// <summary>What a deployment task carries: the plan for the host and how to deploy it.</summary>
public sealed record DeploymentInput(LabPlan Plan, AgentDeployOptions Options, bool Apply);

/// <summary>
/// Executes one task: marks it running, calls the lab's host agent, and persists progress and log lines as they come
/// (flushed about once a second from this one thread, so the DbContext is never shared) and the outcome. Add a task
/// kind here (a case in <see cref="ExecuteAsync"/>) with its input record beside <see cref="DeploymentInput"/>.
/// </summary>
public sealed class LabTaskRunner(LtbDbContext db, IAgentDirectory agents, LtbServerOptions serverOptions, LabStatusCache statuses)
{
    public static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;
    /// <summary>Longer than the runtime's own deploy timeout (10 min), so that its clearer message wins.</summary>
    public static readonly TimeSpan TaskTimeout = TimeSpan.FromMinutes(20);
    private readonly ConcurrentQueue<RuntimeEvent> _pending = new();

    public async Task RunAsync(Guid taskId, CancellationToken ct)
    {
        var task = await db.LabTasks.FirstOrDefaultAsync(t => t.Id == taskId, ct);
        if (task is null || task.State != LabTaskState.Queued)
        {
            return;
        }
        var lab = await db.Labs.FirstAsync(l => l.Id == task.LabId, ct);
        var host = await db.LabHosts.FirstAsync(h => h.Id == task.HostId, ct);
        task.State = LabTaskState.Running;
        task.StartedAt = DateTimeOffset.UtcNow;
        await db.SaveChangesAsync(ct);

        var agent = await agents.ForLabAsync(db, lab, ct); // a lab that spans hosts gets one agent over all of them
        try
        {
            if (agent is null)
            {
                throw new LabRuntimeException(lab.RuntimeName, null, $"host '{host.Name}' has no connected agent");
            }
            // Every task ends: the runtime bounds a deployment itself, this bounds any task (a removal, a hung engine).
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
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
            // The server is stopping: the task cannot finish; the lab is left for the user to destroy or redeploy.
            await FinishAsync(task, lab, LabTaskState.Interrupted, Interrupted(task, "the server stopped"), CancellationToken.None);
            return;
        }
        catch (Exception e)
        {
            await FinishAsync(task, lab, LabTaskState.Failed, Message(e, lab), CancellationToken.None);
            return;
        }
        // The state changes only here, with the end time, in one save: a reader never sees "succeeded" without it.
        await FinishAsync(task, lab, LabTaskState.Succeeded, null, CancellationToken.None);
    }

    /// <summary>The text for a lab and task that a restart or shutdown cut off.</summary>
    public static string Interrupted(LabTask task, string why) => task.Kind == LabTaskKind.Removal
        ? $"the removal was interrupted ({why}); destroy the lab again"
        : $"the deployment was interrupted ({why}); destroy or redeploy the lab";

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
                var options = input.Options with { FilesRoot = LabSources.FilesDirectory(serverOptions.DataDirectory, lab.Id) };
                var status = input.Apply
                    ? await agent.ApplyAsync(input.Plan, options, progress, ct)
                    : await agent.DeployAsync(input.Plan, options, progress, ct);
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

    private async Task FinishAsync(LabTask task, Lab lab, LabTaskState state, string? error, CancellationToken ct)
    {
        await FlushAsync(task, lab, ct);
        task.State = state;
        task.FinishedAt = DateTimeOffset.UtcNow;
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
            var line = e.Node is null ? e.Message : $"{e.Node}: {e.Message}";
            task.Log += $"{e.Time:HH:mm:ss} {line}\n";
            task.Progress = Truncate(line, 2000);
            db.LabEvents.Add(new LabEvent
            {
                LabId = lab.Id, At = e.Time, Node = e.Node, Message = Truncate(e.Message, 4000),
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
