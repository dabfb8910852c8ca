using System.Diagnostics.Metrics;
using Ltb.Runtime.Status;
using Ltb.Server.Hosting;

namespace Ltb.Server.Usage;

/// <summary>
/// The usage samples as OpenTelemetry instruments (System.Diagnostics.Metrics), which the Prometheus exporter serves at
/// <c>/metrics</c> (docs/api.md "Metrics"). Read from the <see cref="UsageBoard"/> at each scrape: no extra agent calls.
/// Labels are bounded: <c>host</c> (host names), <c>lab</c> (the lab's runtime name, unique per host) and <c>node</c>,
/// never interfaces or users; node series stop at <see cref="LtbServerOptions.MetricsNodeSeriesLimit"/> and lab series at
/// <see cref="LtbServerOptions.MetricsLabSeriesLimit"/> (the rest is in the lab and host sums), so a scrape stays the
/// same size however many labs run. Which series are reported is sticky (<see cref="SeriesSlots{TKey}"/>): the exporter
/// keeps exporting a series' last value once it stops being reported (opentelemetry-dotnet #5950), so a series that
/// lost its place to another would stay in the scrape beside it and the bound would not hold.
/// </summary>
public sealed class UsageMetrics : IDisposable
{
    public const string MeterName = "Ltb.Usage";
    private readonly Meter _meter = new(MeterName);
    private readonly UsageBoard _board;
    private readonly SeriesSlots<(string Host, string Lab)> _labSlots;
    private readonly SeriesSlots<(string Host, string Lab, string Node)> _nodeSlots;

    public UsageMetrics(UsageBoard board, LtbServerOptions options)
    {
        _board = board;
        _labSlots = new(options.MetricsLabSeriesLimit);
        _nodeSlots = new(options.MetricsNodeSeriesLimit);
        _meter.CreateObservableGauge("ltb_host_cpu_percent", () => Hosts(u => u.CpuPercent), description: "The host's CPU use, percent of all its cores");
        _meter.CreateObservableGauge("ltb_host_cpus", () => Hosts(u => u.Cpus), description: "The host's CPU cores");
        _meter.CreateObservableGauge("ltb_host_memory_used_bytes", () => Hosts(u => (double)u.MemoryUsedBytes), description: "The host's memory in use");
        _meter.CreateObservableGauge("ltb_host_memory_total_bytes", () => Hosts(u => (double)u.MemoryTotalBytes), description: "The host's memory");
        _meter.CreateObservableGauge("ltb_host_disk_used_bytes", () => Hosts(u => (double)u.DiskUsedBytes), description: "Used space of the agent's state filesystem");
        _meter.CreateObservableGauge("ltb_host_disk_total_bytes", () => Hosts(u => (double)u.DiskTotalBytes), description: "Size of the agent's state filesystem");
        _meter.CreateObservableGauge("ltb_host_labs", () => Hosts(u => u.Labs.Count), description: "Labs with nodes on the host");
        _meter.CreateObservableGauge("ltb_host_nodes", () => Hosts(u => u.Labs.Sum(l => l.Nodes.Count)), description: "Nodes on the host");
        _meter.CreateObservableGauge("ltb_lab_cpu_percent", () => Labs(l => l.Nodes.Sum(n => n.CpuPercent)), description: "A lab's CPU use on a host, percent of one core");
        _meter.CreateObservableGauge("ltb_lab_memory_bytes", () => Labs(l => l.Nodes.Sum(n => (double)n.MemoryBytes)), description: "A lab's memory use on a host");
        _meter.CreateObservableGauge("ltb_lab_nodes", () => Labs(l => l.Nodes.Count), description: "A lab's nodes on a host");
        _meter.CreateObservableCounter("ltb_lab_network_receive_bytes", () => Labs(l => l.Nodes.Sum(n => (double)Sum(n, c => c.RxBytes))), description: "Bytes received by a lab's interfaces on a host");
        _meter.CreateObservableCounter("ltb_lab_network_transmit_bytes", () => Labs(l => l.Nodes.Sum(n => (double)Sum(n, c => c.TxBytes))), description: "Bytes sent by a lab's interfaces on a host");
        _meter.CreateObservableGauge("ltb_node_cpu_percent", () => Nodes(n => n.CpuPercent), description: "A node's CPU use, percent of one core");
        _meter.CreateObservableGauge("ltb_node_memory_bytes", () => Nodes(n => (double)n.MemoryBytes), description: "A node's memory use");
        _meter.CreateObservableGauge("ltb_node_disk_bytes", () => Nodes(n => (double)(n.DiskBytes ?? 0)), description: "What a node wrote to its own disk layer");
        _meter.CreateObservableCounter("ltb_node_network_receive_bytes", () => Nodes(n => Sum(n, c => c.RxBytes)), description: "Bytes received by a node's interfaces");
        _meter.CreateObservableCounter("ltb_node_network_transmit_bytes", () => Nodes(n => Sum(n, c => c.TxBytes)), description: "Bytes sent by a node's interfaces");
        _meter.CreateObservableCounter("ltb_node_network_receive_packets", () => Nodes(n => Sum(n, c => c.RxPackets)), description: "Packets received by a node's interfaces");
        _meter.CreateObservableCounter("ltb_node_network_transmit_packets", () => Nodes(n => Sum(n, c => c.TxPackets)), description: "Packets sent by a node's interfaces");
        _meter.CreateObservableCounter("ltb_node_network_errors", () => Nodes(n => Sum(n, c => c.RxErrors + c.TxErrors)), description: "Receive and transmit errors of a node's interfaces");
        _meter.CreateObservableCounter("ltb_node_network_drops", () => Nodes(n => Sum(n, c => c.RxDropped + c.TxDropped)), description: "Packets dropped by a node's interfaces");
    }

    private static ulong Sum(NodeUsage n, Func<InterfaceCounters, ulong> f) => n.Interfaces.Values.Aggregate(0UL, (a, c) => a + f(c));

    private IEnumerable<Measurement<double>> Hosts(Func<HostUsage, double> value) =>
        _board.Named.Select(h => new Measurement<double>(value(h.Usage), new KeyValuePair<string, object?>("host", h.Name)));

    private IEnumerable<Measurement<double>> Labs(Func<LabUsage, double> value)
    {
        var labs = _board.Named.SelectMany(h => h.Usage.Labs.Select(l => (Key: (h.Name, l.Lab), Lab: l))).ToList();
        var kept = _labSlots.Keep(labs.Select(x => x.Key));
        return labs.Where(x => kept.Contains(x.Key))
            .Select(x => new Measurement<double>(value(x.Lab), new("host", x.Key.Name), new("lab", x.Key.Lab)));
    }

    private IEnumerable<Measurement<long>> Nodes(Func<NodeUsage, ulong> value) =>
        NodeSeries().Select(x => new Measurement<long>((long)Math.Min(value(x.Node), long.MaxValue), x.Tags));

    private IEnumerable<Measurement<double>> Nodes(Func<NodeUsage, double> value) =>
        NodeSeries().Select(x => new Measurement<double>(value(x.Node), x.Tags));

    private IEnumerable<(NodeUsage Node, KeyValuePair<string, object?>[] Tags)> NodeSeries()
    {
        var nodes = _board.Named.SelectMany(h => h.Usage.Labs.SelectMany(l => l.Nodes.Select(n => (Key: (h.Name, l.Lab, n.Node), Node: n)))).ToList();
        var kept = _nodeSlots.Keep(nodes.Select(x => x.Key));
        return nodes.Where(x => kept.Contains(x.Key)).Select(x => (x.Node, new KeyValuePair<string, object?>[]
            { new("host", x.Key.Name), new("lab", x.Key.Lab), new("node", x.Key.Node) }));
    }

    public void Dispose() => _meter.Dispose();
}

/// <summary>
/// At most <c>limit</c> series keys, first come first served: a key keeps its slot while it is present, and a slot is
/// given to a new key only when one is free (its key went away).
/// </summary>
public sealed class SeriesSlots<TKey>(int limit) where TKey : notnull
{
    private readonly Lock _lock = new();
    private readonly HashSet<TKey> _held = [];

    /// <summary>Of the keys present now, the ones that hold a slot.</summary>
    public IReadOnlySet<TKey> Keep(IEnumerable<TKey> present)
    {
        var now = present.ToHashSet();
        lock (_lock)
        {
            _held.IntersectWith(now);
            foreach (var key in now)
            {
                if (_held.Count >= limit)
                {
                    break;
                }
                _held.Add(key);
            }
            return _held.ToHashSet();
        }
    }
}
