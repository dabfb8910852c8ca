using System.Collections.Concurrent;
using System.Threading.Channels;
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
/// One in-memory channel and one worker per host: a host's tasks run one after the other, in order (so a removal never
/// overtakes the deployment it follows). What was queued when the process died is re-queued from the store at the next
/// start (<see cref="LabReconciler"/>). A failing task never stops the worker.
/// </summary>
public sealed class ChannelLabTaskQueue(IServiceScopeFactory scopes, ILogger<ChannelLabTaskQueue> log) : ILabTaskQueue, IHostedService, IDisposable
{
    private readonly ConcurrentDictionary<Guid, Channel<Guid>> _hosts = new();
    private readonly ConcurrentBag<Task> _workers = [];
    private readonly CancellationTokenSource _stopping = new();

    public void Enqueue(Guid hostId, Guid taskId)
    {
        var channel = _hosts.GetOrAdd(hostId, id =>
        {
            var c = Channel.CreateUnbounded<Guid>(new UnboundedChannelOptions { SingleReader = true });
            _workers.Add(Task.Run(() => WorkAsync(id, c.Reader)));
            return c;
        });
        channel.Writer.TryWrite(taskId);
    }

    private async Task WorkAsync(Guid hostId, ChannelReader<Guid> reader)
    {
        try
        {
            await foreach (var taskId in reader.ReadAllAsync(_stopping.Token))
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    await scope.ServiceProvider.GetRequiredService<LabTaskRunner>().RunAsync(taskId, _stopping.Token);
                }
                catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
                {
                    log.LogError(e, "lab task {Task} on host {Host} failed unexpectedly", taskId, hostId);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    public void Dispose() => _stopping.Dispose();

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        foreach (var c in _hosts.Values)
        {
            c.Writer.TryComplete();
        }
        await Task.WhenAll(_workers).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
