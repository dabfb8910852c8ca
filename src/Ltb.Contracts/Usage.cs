namespace Ltb.Contracts;

/// <summary>
/// Resource use summed over nodes (docs/api.md "Resource usage"). CPU is in percent of one core (200 = two cores busy);
/// network figures are the interfaces' counters since they were created, summed.
/// </summary>
public sealed record UsageTotalsDto(int Nodes, int RunningNodes, double CpuPercent, ulong MemoryBytes, long DiskBytes,
    ulong RxBytes, ulong TxBytes, ulong RxPackets, ulong TxPackets, ulong Errors, ulong Drops);

/// <summary>One interface's counters in a usage sample.</summary>
public sealed record InterfaceUsageDto(string Name, ulong RxBytes, ulong RxPackets, ulong RxErrors, ulong RxDropped,
    ulong TxBytes, ulong TxPackets, ulong TxErrors, ulong TxDropped);

/// <summary>A node's resource use at <see cref="At"/> (its host's last sample); <see cref="Error"/> says why figures are missing.</summary>
public sealed record NodeUsageDto(string Node, string Host, DateTimeOffset At, string State, double CpuPercent, ulong MemoryBytes,
    ulong? MemoryLimitBytes, ulong Pids, long? DiskBytes, IReadOnlyList<InterfaceUsageDto> Interfaces, string? Error);

/// <summary>GET /api/v1/labs/{lab}/usage: the lab's nodes as last sampled (a few seconds ago at most) and their sums.</summary>
public sealed record LabUsageDto(Guid Lab, string Name, string State, IReadOnlyList<NodeUsageDto> Nodes, UsageTotalsDto Totals);

/// <summary>A lab's sums on a host (host usage).</summary>
public sealed record LabUsageSummaryDto(Guid Lab, string Name, string Owner, UsageTotalsDto Totals);

/// <summary>
/// GET /api/v1/hosts/{id}/usage: the machine's CPU (percent of all its cores), memory and disk (the agent's state
/// folder's filesystem) at its last sample, its labs and nodes, what placement counts as allocated and free, and each lab's sums.
/// </summary>
public sealed record HostUsageDto(Guid Host, string Name, string State, DateTimeOffset? At, int Cpus, double CpuPercent,
    ulong MemoryTotalBytes, ulong MemoryUsedBytes, ulong DiskTotalBytes, ulong DiskUsedBytes, int LabCount, int NodeCount,
    HostResourcesDto Capacity, HostResourcesDto Free, UsageTotalsDto Totals, IReadOnlyList<LabUsageSummaryDto> Labs);
