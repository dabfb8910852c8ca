using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Topology.Catalog;

namespace Ltb.Runtime.Nodes;

/// <summary>
/// The node drivers registered on this host, one per <see cref="NodeRuntime"/>: picks a node's driver, and says which
/// node kinds the host can run (what an agent reports for placement).
/// </summary>
public sealed class NodeDrivers
{
    private readonly Dictionary<NodeRuntime, INodeDriver> _drivers;

    public NodeDrivers(IEnumerable<INodeDriver> drivers)
    {
        _drivers = [];
        foreach (var d in drivers)
        {
            if (!_drivers.TryAdd(d.Runtime, d))
            {
                throw new ArgumentException($"two node drivers for the {d.Runtime} runtime", nameof(drivers));
            }
        }
    }

    public IReadOnlyCollection<INodeDriver> All => _drivers.Values;

    public IReadOnlyCollection<NodeRuntime> Runtimes => _drivers.Keys;

    /// <summary>The driver of <paramref name="node"/>'s runtime; fails naming the node and runtime when this host has none.</summary>
    public INodeDriver For(string lab, NodePlan node) =>
        _drivers.TryGetValue(node.Runtime, out var d) ? d
            : throw new LabRuntimeException(lab, node.Name,
                $"it runs as {Name(node.Runtime)} and this host has no driver for that runtime (it runs {string.Join(", ", _drivers.Keys.Select(Name))} nodes); place it on a host that does");

    /// <summary>Refuses, before anything is created, a plan with a node no registered driver runs.</summary>
    public void CheckRunnable(LabPlan plan)
    {
        foreach (var n in plan.Nodes)
        {
            For(plan.LabName, n);
        }
    }

    /// <summary>The catalog's kinds this host can run: those whose runtime has a registered driver.</summary>
    public IReadOnlyList<string> Kinds(NodeTypeCatalog catalog) =>
        catalog.Types.Where(t => _drivers.ContainsKey(t.Runtime)).Select(t => t.Name).ToList();

    /// <summary>What a driver answers for an optional operation it does not offer: names the node, the runtime and what is missing.</summary>
    public static LabRuntimeException NotSupported(NodeRuntime runtime, string lab, string node, string what) =>
        new(lab, node, $"this host's {Name(runtime)} node driver cannot {what} yet");

    private static string Name(NodeRuntime r) => r.ToString().ToLowerInvariant();
}
