using System.Collections.Concurrent;
using System.Threading.Channels;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ltb.Server.Labs;

/// <summary>
/// Runs lab tasks on their host. The store holds the task (state, input, log), the queue only its id, so a queue can be
/// swapped for a durable one (Hangfire with the remote-hosts issue) without touching endpoints or the runner.
/// </summary>
public interface ILabTaskQueue
{
    void Enqueue(Guid hostId, Guid taskId);
}

/// <summary>
/// An in-memory queue per host. Tasks of different labs run side by side, at most
/// <see cref="LtbServerOptions.LabTasksPerHost"/> at a time on one host; the tasks of one lab run one after the other in
/// the order they were queued (so a removal never overtakes the deployment it follows). What was queued when the process
/// died is re-queued from the store at the next start (<see cref="LabReconciler"/>). A failing task never stops the queue.
/// </summary>
public sealed class ChannelLabTaskQueue(IServiceScopeFactory scopes, LtbServerOptions options, ILogger<ChannelLabTaskQueue> log)
    : ILabTaskQueue, IHostedService, IDisposable
{
    private readonly ConcurrentDictionary<Guid, HostQueue> _hosts = new();
    private readonly ConcurrentBag<Task> _dispatchers = [];
    private readonly CancellationTokenSource _stopping = new();

    public void Enqueue(Guid hostId, Guid taskId)
    {
        var host = _hosts.GetOrAdd(hostId, id =>
        {
            var q = new HostQueue(id, Math.Max(1, options.LabTasksPerHost));
            _dispatchers.Add(Task.Run(() => DispatchAsync(q)));
            return q;
        });
        host.Ids.Writer.TryWrite(taskId);
    }

    /// <summary>
    /// The one reader of a host's queue: puts each task at the end of its lab's lane, in queue order. A lane's task
    /// takes a slot of the host only once the task before it in the lane has finished, so a waiting task holds no slot.
    /// </summary>
    private async Task DispatchAsync(HostQueue host)
    {
        try
        {
            await foreach (var taskId in host.Ids.Reader.ReadAllAsync(_stopping.Token))
            {
                Guid lane;
                try
                {
                    lane = await LabOfAsync(taskId, _stopping.Token) ?? taskId;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    log.LogError(e, "could not look up the lab of task {Task}; it runs in a lane of its own", taskId);
                    lane = taskId;
                }
                var before = host.Lanes.GetValueOrDefault(lane, Task.CompletedTask);
                var run = RunAfterAsync(before, host, taskId);
                host.Lanes[lane] = run;
                host.Running[run] = lane;
                _ = run.ContinueWith(done =>
                {
                    host.Lanes.TryRemove(new KeyValuePair<Guid, Task>(lane, done));
                    host.Running.TryRemove(done, out _);
                }, TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private async Task<Guid?> LabOfAsync(Guid taskId, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        return await db.LabTasks.Where(t => t.Id == taskId).Select(t => (Guid?)t.LabId).FirstOrDefaultAsync(ct);
    }

    private async Task RunAfterAsync(Task before, HostQueue host, Guid taskId)
    {
        await before.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        try
        {
            await host.Slots.WaitAsync(_stopping.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<LabTaskRunner>().RunAsync(taskId, _stopping.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            log.LogError(e, "lab task {Task} on host {Host} failed unexpectedly", taskId, host.Id);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            host.Slots.Release();
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        foreach (var h in _hosts.Values)
        {
            h.Slots.Dispose();
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        foreach (var h in _hosts.Values)
        {
            h.Ids.Writer.TryComplete();
        }
        var all = _dispatchers.Concat(_hosts.Values.SelectMany(h => h.Running.Keys));
        await Task.WhenAll(all).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private sealed class HostQueue(Guid id, int slots)
    {
        public Guid Id { get; } = id;
        public Channel<Guid> Ids { get; } = Channel.CreateUnbounded<Guid>(new UnboundedChannelOptions { SingleReader = true });
        public SemaphoreSlim Slots { get; } = new(slots, slots);
        /// <summary>Per lab, the last task queued for it (removed once it has finished and nothing follows it).</summary>
        public ConcurrentDictionary<Guid, Task> Lanes { get; } = new();
        /// <summary>The tasks not finished yet (waiting for their lane or a slot, or running), for a clean stop.</summary>
        public ConcurrentDictionary<Task, Guid> Running { get; } = new();
    }
}
