using Ltb.Runtime.Links.Types;
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
    /// What a node of a plan without limits demands. The planner gives every node its CPU and memory limits (topology,
    /// else node type, else the policy's node defaults), so this counts only plans made elsewhere (tests, old state).
    /// </summary>
    public static readonly CpuMemory DefaultContainer = new(Ltb.Topology.Policy.NodeLimits.Default.Cpu, Ltb.Topology.Policy.NodeLimits.Default.MemoryBytes);

    /// <summary>The demand of a plan: per node, exactly the limits it runs with.</summary>
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
            .Select(l => LinkTypes.NodeEnds(l).Select(e => e.Node).ToList())
            .Where(ends => ends is [var a, var b] && names.Contains(a) && names.Contains(b))
            .Select(ends => (ends[0], ends[1]))
            .ToList();
        return new LabDemand(nodes, links);
    }
}
