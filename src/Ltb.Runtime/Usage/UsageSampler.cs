using System.Collections.Concurrent;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Usage;

/// <summary>
/// Samples a host's resource use (issue #16): the machine's CPU, memory and disk, and per running node its driver's
/// reading (<see cref="INodeDriver.StatsAsync"/>, for drivers that offer <see cref="NodeCapabilities.Stats"/>) and its
/// interfaces' counters from <c>/proc/PID/net/dev</c> of the process holding its namespace (a file read: no process is
/// started per node). CPU percentages are the difference to the previous sample, so the first sample of a node reads 0.
/// A sample younger than <see cref="Reuse"/> is answered again instead of measuring twice. Disk use (a walk of the
/// node's layer) is measured once per <see cref="DiskInterval"/> per node, in the background, so a sample never waits
/// for it (a node's first samples have no disk figure).
/// </summary>
public sealed class UsageSampler(NodeDrivers drivers, string stateDirectory, TimeProvider? time = null)
{
    public static readonly TimeSpan Reuse = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan DiskInterval = TimeSpan.FromMinutes(1);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private Task<HostUsage>? _running;
    private readonly ConcurrentDictionary<(string Lab, string Node), (ulong CpuNs, long At)> _cpu = new();
    private readonly ConcurrentDictionary<(string Lab, string Node), (long? Bytes, DateTimeOffset At)> _disk = new();
    private (ulong Busy, ulong Total) _hostCpu;
    private HostUsage? _last;
    private readonly ConcurrentDictionary<(string Lab, string Node), INodeDriver> _diskDue = new();
    private Task? _diskRefresh;

    /// <summary>
    /// A sample of the host and of <paramref name="labs"/> (runtime names), at most <see cref="Reuse"/> old. Callers that
    /// ask while a sample is being taken share it (one measurement at a time, bounded by <see cref="SampleTimeout"/>).
    /// </summary>
    public Task<HostUsage> SampleAsync(IReadOnlyList<string> labs, CancellationToken ct)
    {
        lock (_lock)
        {
            if (_last is { } last && _time.GetUtcNow() - last.At < Reuse && last.Labs.Select(l => l.Lab).SequenceEqual(labs))
            {
                return Task.FromResult(last);
            }
            if (_running is not { IsCompleted: false })
            {
                _running = MeasureAsync(labs);
            }
            return _running.WaitAsync(ct);
        }
    }

    public static readonly TimeSpan SampleTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long one lab's listing or one node's reading may take: on a loaded host a few slow answers must not cost the
    /// whole sample its <see cref="SampleTimeout"/>, which would leave the host without figures at all.
    /// </summary>
    private static readonly TimeSpan ReadingTimeout = TimeSpan.FromSeconds(8);

    private async Task<HostUsage> MeasureAsync(IReadOnlyList<string> labs)
    {
        using var timeout = new CancellationTokenSource(SampleTimeout);
        var ct = timeout.Token;
        var sampled = await SampleLabsAsync(labs, ct);
        var cpu = HostReadings.CpuTicks();
        var (busy, total) = (cpu.Busy - Math.Min(cpu.Busy, _hostCpu.Busy), cpu.Total - Math.Min(cpu.Total, _hostCpu.Total));
        _hostCpu = cpu;
        var memory = HostReadings.Memory();
        var disk = HostReadings.Disk(stateDirectory);
        Forget(labs);
        StartDiskRefresh();
        var usage = new HostUsage(_time.GetUtcNow(), Environment.ProcessorCount, total == 0 ? 0 : Math.Round(100.0 * busy / total, 2),
            memory.Total, memory.Used, disk.Total, disk.Used, sampled);
        lock (_lock)
        {
            _last = usage;
        }
        return usage;
    }

    /// <summary>
    /// Every lab's nodes as their drivers list them (a few labs at a time), then a reading of each node (a few at a time:
    /// the engine answers each stats call on its own, and the agent should stay a light load on its host).
    /// </summary>
    private async Task<List<LabUsage>> SampleLabsAsync(IReadOnlyList<string> labs, CancellationToken ct)
    {
        var found = new ConcurrentBag<(string Lab, INodeDriver Driver, NodeStatus Node)>();
        await Parallel.ForEachAsync(labs, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (lab, t) =>
        {
            foreach (var driver in drivers.All)
            {
                // One lab the driver cannot list now (being removed, the engine slow to answer) leaves the others' figures.
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(t);
                limit.CancelAfter(ReadingTimeout);
                try
                {
                    foreach (var node in await driver.InspectAsync(lab, limit.Token))
                    {
                        found.Add((lab, driver, node));
                    }
                }
                catch (Exception e) when (!t.IsCancellationRequested && e is LabRuntimeException or OperationCanceledException or IOException
                    or HttpRequestException or TimeoutException or global::Docker.DotNet.DockerApiException)
                {
                    // left out of this sample; the next one asks again
                }
            }
        });
        var sampled = new ConcurrentBag<(string Lab, NodeUsage Usage)>();
        await Parallel.ForEachAsync(found, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (x, t) =>
            sampled.Add((x.Lab, await SampleNodeAsync(x.Driver, x.Lab, x.Node, t))));
        var byLab = sampled.ToLookup(x => x.Lab, x => x.Usage, StringComparer.Ordinal);
        return labs.Select(l => new LabUsage(l, byLab[l].OrderBy(n => n.Node, StringComparer.Ordinal).ToList())).ToList();
    }

    private async Task<NodeUsage> SampleNodeAsync(INodeDriver driver, string lab, NodeStatus node, CancellationToken ct)
    {
        var empty = new Dictionary<string, InterfaceCounters>();
        if (node.State != NodeState.Running || node.Pid is not { } pid)
        {
            return new NodeUsage(node.Name, node.State, 0, 0, 0, null, 0, null, empty);
        }
        var interfaces = InterfaceReadings.ReadProcNetDev(pid)?.Where(kv => kv.Key != "lo").ToDictionary() ?? empty;
        if (!driver.Capabilities.HasFlag(NodeCapabilities.Stats))
        {
            return new NodeUsage(node.Name, node.State, 0, 0, 0, null, 0, null, interfaces, $"its {driver.Runtime} driver reports no CPU or memory");
        }
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(ReadingTimeout);
        try
        {
            var stats = await driver.StatsAsync(lab, node.Name, limit.Token);
            var now = _time.GetTimestamp();
            var key = (lab, node.Name);
            var percent = _cpu.TryGetValue(key, out var before) && stats.CpuNanoseconds >= before.CpuNs
                ? 100.0 * (stats.CpuNanoseconds - before.CpuNs) / Math.Max(1, _time.GetElapsedTime(before.At, now).TotalNanoseconds)
                : 0;
            _cpu[key] = (stats.CpuNanoseconds, now);
            return new NodeUsage(node.Name, node.State, Math.Round(percent, 2), stats.CpuNanoseconds, stats.MemoryBytes, stats.MemoryLimitBytes,
                stats.Pids, Disk(driver, lab, node.Name), interfaces);
        }
        catch (LabRuntimeException e)
        {
            return new NodeUsage(node.Name, node.State, 0, 0, 0, null, 0, null, interfaces, e.Cause);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new NodeUsage(node.Name, node.State, 0, 0, 0, null, 0, null, interfaces,
                $"its {driver.Runtime} driver gave no reading within {ReadingTimeout.TotalSeconds:0} s (the host is busy)");
        }
    }

    /// <summary>
    /// The node's last measured disk use (null until first measured). Measuring walks the node's layer, which can take
    /// seconds per node on a busy host, so it is never on a sample's path: stale nodes are queued for
    /// <see cref="RefreshDisksAsync"/>, which measures them one at a time in the background.
    /// </summary>
    private long? Disk(INodeDriver driver, string lab, string node)
    {
        var key = (lab, node);
        var known = _disk.TryGetValue(key, out var k) ? k : default((long? Bytes, DateTimeOffset At)?);
        if (known is null || _time.GetUtcNow() - known.Value.At >= DiskInterval)
        {
            _diskDue[key] = driver;
        }
        return known?.Bytes;
    }

    private void StartDiskRefresh()
    {
        lock (_lock)
        {
            if (_diskDue.IsEmpty || _diskRefresh is { IsCompleted: false })
            {
                return;
            }
            _diskRefresh = Task.Run(RefreshDisksAsync);
        }
    }

    private async Task RefreshDisksAsync()
    {
        foreach (var (key, driver) in _diskDue.ToArray())
        {
            _diskDue.TryRemove(key, out _);
            using var timeout = new CancellationTokenSource(SampleTimeout);
            try
            {
                var bytes = (await driver.DescribeAsync(key.Lab, key.Node, timeout.Token)).DiskBytes;
                _disk[key] = (bytes, _time.GetUtcNow());
            }
            catch (Exception e) when (e is LabRuntimeException or OperationCanceledException)
            {
                // Queued again by the next sample: a node being removed or a slow engine only delays its figure.
            }
        }
    }

    /// <summary>Drops what is kept of labs that are gone (the dictionaries stay as large as what runs).</summary>
    private void Forget(IReadOnlyList<string> labs)
    {
        var live = labs.ToHashSet(StringComparer.Ordinal);
        foreach (var key in _cpu.Keys.Where(k => !live.Contains(k.Lab)))
        {
            _cpu.TryRemove(key, out _);
        }
        foreach (var key in _disk.Keys.Where(k => !live.Contains(k.Lab)))
        {
            _disk.TryRemove(key, out _);
        }
        foreach (var key in _diskDue.Keys.Where(k => !live.Contains(k.Lab)))
        {
            _diskDue.TryRemove(key, out _);
        }
    }
}
