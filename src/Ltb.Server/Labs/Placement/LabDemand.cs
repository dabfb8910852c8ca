using Ltb.Runtime.Plan;
using Ltb.Topology.Catalog;

namespace Ltb.Server.Labs.Placement;

/// <summary>One node as placement sees it: its kind and image (what a host must offer) and its CPU and memory demand.</summary>
/// <param name="PinnedHost">The host the topology pins the node to (the `ltb.host` node label), if any.</param>
public sealed record NodeDemand(string Name, string Kind, string Image, CpuMemory Demand, string? PinnedHost = null);

/// <summary>What a lab asks of the hosts it runs on: its nodes and the links between them (to keep linked nodes together).</summary>
public sealed record LabDemand(IReadOnlyList<NodeDemand> Nodes, IReadOnlyList<(string A, string B)> Links)
{
    public CpuMemory Total => Nodes.Aggregate(CpuMemory.Zero, (sum, n) => sum + n.Demand);

    /// <summary>The node label that pins a node to a host by name (checked first by <see cref="Spanning.NodePins"/>).</summary>
    public const string HostLabel = "ltb.host";

    /// <summary>
    /// What a node demands when neither its node type nor the topology gives it a CPU or memory limit (a linux container,
    /// a bridge-like helper): no CPU (it shares the host's CPUs, as containers do) and a memory reservation, so that a host
    /// does not take an unbounded number of such nodes. Node types of network operating systems carry their own figures
    /// in the catalog (e.g. `cpu: 2`, `memory: 4GiB`), and a node's `cpus`/`memory` in the topology override both.
    /// </summary>
    public static readonly CpuMemory DefaultContainer = new(0, 256L << 20);

    /// <summary>The demand of a plan: per node, its limits (topology, else node type) or the default reservation.</summary>
    public static LabDemand Of(LabPlan plan, IReadOnlyDictionary<string, string> kinds, NodeTypeCatalog? catalog = null)
    {
        var nodes = plan.Nodes.Select(n =>
        {
            var kind = kinds.GetValueOrDefault(n.Name, NodeTypeCatalog.DefaultKind);
            kind = catalog?.Find(kind)?.Name ?? kind;
            var demand = new CpuMemory(n.Cpu ?? DefaultContainer.Cpus, n.Memory ?? DefaultContainer.MemoryBytes);
            return new NodeDemand(n.Name, kind, n.Image, demand, n.Labels.GetValueOrDefault(HostLabel) is { Length: > 0 } pin ? pin : null);
        }).ToList();
        var names = nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var links = plan.Links
            .Where(l => l.Type == LinkType.Veth && l.B is not null && names.Contains(l.A.Node) && names.Contains(l.B.Node))
            .Select(l => (l.A.Node, l.B!.Node))
            .ToList();
        return new LabDemand(nodes, links);
    }
}
