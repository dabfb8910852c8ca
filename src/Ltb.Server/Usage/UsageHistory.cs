using Ltb.Runtime.Status;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Ltb.Server.Usage;

/// <summary>
/// Turns the hosts' live samples into the usage history (<see cref="UsageRecord"/>, docs/architecture.md "Usage
/// history"): every sample adds, per running node and per host machine, the time since that node's previous sample
/// (at most <see cref="GapLimit"/>: a longer gap means nobody sampled, and it is not counted), that time's CPU and
/// memory and the interfaces' bytes since then to the current minute; when the clock passes into the next minute the
/// finished minute is written, one row per node and host, and <see cref="UsageCompaction"/> rolls older rows up. What
/// has not been written yet is written when the server stops (<see cref="FlushAsync"/>). The clock is the server's
/// <see cref="TimeProvider"/>, so tests decide how much time passes.
/// </summary>
public sealed class UsageHistory(IServiceScopeFactory scopes, TimeProvider clock, LtbServerOptions options, ILogger<UsageHistory> log)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Key, Seen> _previous = [];
    private Dictionary<Key, Sums> _minute = [];
    private DateTimeOffset _minuteStart;

    /// <summary>A node (or with an empty lab, the host machine) on a host; labs by their runtime name.</summary>
    private readonly record struct Key(Guid Host, string Lab, string Node);

    private sealed record Seen(DateTimeOffset At, ulong Rx, ulong Tx);

    private sealed class Sums
    {
        public double NodeSeconds, CpuSeconds, MemoryByteSeconds;
        public long Rx, Tx;
    }

    /// <summary>The longest time between two samples of a node that still counts as use: 3 sampling intervals, at least a minute.</summary>
    public TimeSpan GapLimit => TimeSpan.FromTicks(Math.Max(3 * Interval.Ticks, TimeSpan.FromMinutes(1).Ticks));

    private TimeSpan Interval => options.UsageInterval > TimeSpan.Zero ? options.UsageInterval : TimeSpan.FromSeconds(5);

    /// <summary>Adds one round of fresh samples (hosts that did not answer are left out); writes the minute before when it ended.</summary>
    public async Task RecordAsync(IReadOnlyCollection<(Guid Host, HostUsage Usage)> samples, CancellationToken ct)
    {
        var now = clock.GetUtcNow().ToUniversalTime();
        var minute = UsageBuckets.Floor(now, UsageTier.Minute);
        Dictionary<Key, Sums>? finished = null;
        var finishedStart = default(DateTimeOffset);
        lock (_gate)
        {
            if (minute != _minuteStart && _minute.Count > 0)
            {
                (finished, finishedStart, _minute) = (_minute, _minuteStart, []);
            }
            _minuteStart = minute;
            foreach (var (host, usage) in samples)
            {
                Add(new Key(host, "", ""), now, usage.CpuPercent / 100 * usage.Cpus, usage.MemoryUsedBytes, 0, 0);
                foreach (var lab in usage.Labs)
                {
                    foreach (var node in lab.Nodes.Where(n => n.State == NodeState.Running))
                    {
                        var rx = node.Interfaces.Values.Aggregate(0UL, (a, c) => a + c.RxBytes);
                        var tx = node.Interfaces.Values.Aggregate(0UL, (a, c) => a + c.TxBytes);
                        Add(new Key(host, lab.Lab, node.Node), now, node.CpuPercent / 100, node.MemoryBytes, rx, tx);
                    }
                }
            }
            // Nodes not seen for longer than the gap limit are forgotten: the map stays as large as what runs.
            foreach (var gone in _previous.Where(p => now - p.Value.At > GapLimit).Select(p => p.Key).ToList())
            {
                _previous.Remove(gone);
            }
        }
        if (finished is not null)
        {
            await WriteAsync(finishedStart, finished, ct);
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<UsageCompaction>().CompactAsync(now, ct);
        }
    }

    /// <summary>Writes the minute in progress (the server stops); a later write of the same minute by this server is dropped.</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        Dictionary<Key, Sums> pending;
        DateTimeOffset start;
        lock (_gate)
        {
            (pending, start, _minute) = (_minute, _minuteStart, []);
        }
        if (pending.Count > 0)
        {
            await WriteAsync(start, pending, ct);
        }
    }

    private void Add(Key key, DateTimeOffset now, double cores, ulong memory, ulong rx, ulong tx)
    {
        var previous = _previous.GetValueOrDefault(key);
        _previous[key] = new Seen(now, rx, tx);
        if (previous is null || now <= previous.At)
        {
            return; // the first sight of a node counts from here on; a repeated sample at the same time adds nothing
        }
        var seconds = Math.Min((now - previous.At).TotalSeconds, GapLimit.TotalSeconds);
        if (!_minute.TryGetValue(key, out var sums))
        {
            _minute[key] = sums = new Sums();
        }
        sums.NodeSeconds += seconds;
        sums.CpuSeconds += cores * seconds;
        sums.MemoryByteSeconds += memory * seconds;
        // Counters only grow while the interface lives; a smaller value is a new interface (the node was recreated).
        sums.Rx += (long)Math.Min(rx >= previous.Rx ? rx - previous.Rx : rx, long.MaxValue);
        sums.Tx += (long)Math.Min(tx >= previous.Tx ? tx - previous.Tx : tx, long.MaxValue);
    }

    /// <summary>One transaction per host: a unique-index conflict (another replica wrote it) drops that host's minute only.</summary>
    private async Task WriteAsync(DateTimeOffset start, Dictionary<Key, Sums> minute, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        var names = minute.Keys.Select(k => k.Lab).Where(l => l.Length > 0).Distinct().ToList();
        // A runtime name carries 6 hex digits of its lab's id: a clash would need two labs of the same name; the newest wins.
        var labs = (await db.Labs.AsNoTracking().Where(l => names.Contains(l.RuntimeName))
                .Select(l => new { l.Id, l.Name, l.RuntimeName, l.OwnerId, l.GroupId, l.CreatedAt }).ToListAsync(ct))
            .GroupBy(l => l.RuntimeName).ToDictionary(g => g.Key, g => g.OrderByDescending(l => l.CreatedAt).First(), StringComparer.Ordinal);
        foreach (var host in minute.GroupBy(m => m.Key.Host))
        {
            db.ChangeTracker.Clear();
            if (await db.UsageRecords.AnyAsync(r => r.Tier == UsageTier.Minute && r.Start == start && r.HostId == host.Key, ct))
            {
                continue; // written by another replica already: asked first, as EF logs every failed insert as an error
            }
            foreach (var (key, sums) in host)
            {
                var lab = key.Lab.Length > 0 ? labs.GetValueOrDefault(key.Lab) : null;
                if (key.Lab.Length > 0 && lab is null)
                {
                    continue; // a lab the store does not know (an orphan the reconciler removes): nobody to account it to
                }
                db.UsageRecords.Add(new UsageRecord
                {
                    Tier = UsageTier.Minute, Start = start, HostId = key.Host, LabId = lab?.Id ?? Guid.Empty, Node = key.Node,
                    LabName = lab?.Name ?? "", OwnerId = lab?.OwnerId, GroupId = lab?.GroupId, NodeSeconds = sums.NodeSeconds,
                    CpuSeconds = sums.CpuSeconds, MemoryByteSeconds = sums.MemoryByteSeconds, RxBytes = sums.Rx, TxBytes = sums.Tx,
                });
            }
            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException e)
            {
                // Another replica wrote the same minute between the question above and this insert (each samples on its own).
                if (log.IsEnabled(LogLevel.Information))
                {
                    log.LogInformation("usage history: the minute {Start:u} of host {Host} was written already ({Error})", start, host.Key,
                        e.InnerException?.Message ?? e.Message);
                }
            }
        }
    }
}
