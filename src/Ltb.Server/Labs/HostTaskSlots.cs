using System.Collections.Concurrent;
using Ltb.Server.Hosting;

namespace Ltb.Server.Labs;

/// <summary>
/// How many lab tasks run at once on one host in this replica: at most <see cref="LtbServerOptions.LabTasksPerHost"/>.
/// The task queue is one for all hosts (<see cref="LabJobs.Queue"/>); a task whose host has no free slot waits a moment
/// for one and is otherwise put back for a few seconds (<see cref="RetryLaterException"/>), holding neither a worker nor
/// a database connection meanwhile, so a busy host does not hold up the others.
/// </summary>
public sealed class HostTaskSlots(LtbServerOptions options)
{
    /// <summary>How long a task waits for a slot before it goes back to the queue.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(2);
    /// <summary>How long it stays out of the queue then.</summary>
    public static readonly TimeSpan Backoff = TimeSpan.FromSeconds(3);

    private readonly ConcurrentDictionary<Guid, SemaphoreSlim> _hosts = new();

    /// <summary>A slot on the host (dispose it when the task ends); null when the host's slots stayed taken.</summary>
    public async Task<IDisposable?> TakeAsync(Guid hostId, CancellationToken ct)
    {
        var slots = _hosts.GetOrAdd(hostId, _ => new SemaphoreSlim(Math.Max(1, options.LabTasksPerHost)));
        return await slots.WaitAsync(Patience, ct) ? new Slot(slots) : null;
    }

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }
}
