using Ltb.Runtime.Status;

namespace Ltb.Server.Usage;

/// <summary>The runtime's usage samples as the API's records, and their sums (one place for both).</summary>
public static class UsageViews
{
    public static NodeUsageDto ToDto(NodeUsage n, string host, DateTimeOffset at) => new(n.Node, host, at, n.State.ToString().ToLowerInvariant(),
        n.CpuPercent, n.MemoryBytes, n.MemoryLimitBytes, n.Pids, n.DiskBytes,
        n.Interfaces.OrderBy(i => i.Key, StringComparer.Ordinal).Select(i => new InterfaceUsageDto(i.Key, i.Value.RxBytes, i.Value.RxPackets,
            i.Value.RxErrors, i.Value.RxDropped, i.Value.TxBytes, i.Value.TxPackets, i.Value.TxErrors, i.Value.TxDropped)).ToList(), n.Error);

    public static UsageTotalsDto Totals(IReadOnlyCollection<NodeUsage> nodes)
    {
        var counters = nodes.SelectMany(n => n.Interfaces.Values).ToList();
        ulong Sum(Func<InterfaceCounters, ulong> f) => counters.Aggregate(0UL, (a, c) => a + f(c));
        return new UsageTotalsDto(nodes.Count, nodes.Count(n => n.State == NodeState.Running), Math.Round(nodes.Sum(n => n.CpuPercent), 2),
            nodes.Aggregate(0UL, (a, n) => a + n.MemoryBytes), nodes.Sum(n => n.DiskBytes ?? 0),
            Sum(c => c.RxBytes), Sum(c => c.TxBytes), Sum(c => c.RxPackets), Sum(c => c.TxPackets),
            Sum(c => c.RxErrors + c.TxErrors), Sum(c => c.RxDropped + c.TxDropped));
    }
}
