namespace Ltb.Runtime.Status;

/// <summary>
/// One node's resource use at a sample (issue #16): CPU as a percentage of one core since the previous sample, memory,
/// processes, the disk it wrote (refreshed about once a minute: measuring it walks the layer) and every interface's
/// counters. <see cref="Error"/> says why a reading is missing (the node stopped, its driver cannot report).
/// </summary>
public sealed record NodeUsage(
    string Node,
    NodeState State,
    double CpuPercent,
    ulong CpuNanoseconds,
    ulong MemoryBytes,
    ulong? MemoryLimitBytes,
    ulong Pids,
    long? DiskBytes,
    IReadOnlyDictionary<string, InterfaceCounters> Interfaces,
    string? Error = null);

public sealed record LabUsage(string Lab, IReadOnlyList<NodeUsage> Nodes);

/// <summary>A host's resource use at one sample: the machine's CPU (percent of all its cores), memory and the disk of the
/// agent's state folder, and every lab's nodes.</summary>
public sealed record HostUsage(
    DateTimeOffset At,
    int Cpus,
    double CpuPercent,
    ulong MemoryTotalBytes,
    ulong MemoryUsedBytes,
    ulong DiskTotalBytes,
    ulong DiskUsedBytes,
    IReadOnlyList<LabUsage> Labs);
