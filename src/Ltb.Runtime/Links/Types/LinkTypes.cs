using Ltb.Runtime.Network;
using Ltb.Runtime.Plan;
using TopologyLinkType = Ltb.Topology.Model.LinkType;

namespace Ltb.Runtime.Links.Types;

/// <summary>The registry of link types: one <see cref="LinkTypeDefinition"/> per <see cref="LinkType"/>.</summary>
public static class LinkTypes
{
    public static IReadOnlyList<LinkTypeDefinition> All { get; } =
    [
        VethLinkType.Instance, HostLinkType.Instance, MgmtNetLinkType.Instance, MacvlanLinkType.Instance, DummyLinkType.Instance,
        VxlanLinkType.Instance,
    ];

    private static readonly Dictionary<LinkType, LinkTypeDefinition> ByType = All.ToDictionary(d => d.Type);

    public static LinkTypeDefinition Of(LinkType type) =>
        ByType.TryGetValue(type, out var d) ? d : throw new ArgumentOutOfRangeException(nameof(type), type, "no link type definition");

    public static LinkTypeDefinition Of(LinkPlan link) => Of(link.Type);

    /// <summary>The type a topology link type is planned as; null when the runtime does not wire it.</summary>
    public static LinkTypeDefinition? Written(TopologyLinkType type) => All.FirstOrDefault(d => d.WrittenAs.Contains(type));

    /// <summary>The node-side interfaces of a link: (node, interface).</summary>
    public static IEnumerable<LinkEndpoint> NodeEnds(LinkPlan link) => Of(link).NodeEnds(link);

    public static ILinkWiring Wiring(LinkPlan link, LinkBackend backend) => Of(link).Wiring(backend);

    /// <summary>Each type's preflight, for the links of that type.</summary>
    public static async Task PreflightAsync(LabPlan plan, IEnumerable<LinkPlan> links, IHostNetwork net, CancellationToken ct)
    {
        foreach (var (type, mine) in ByTypeOf(links))
        {
            await type.PreflightAsync(plan, mine, net, ct);
        }
    }

    /// <summary>Each type's host preparation; returns <paramref name="links"/> as prepared, in their order.</summary>
    public static async Task<IReadOnlyList<LinkPlan>> PrepareHostAsync(IHostNetwork net, LabPlan plan, IReadOnlyList<LinkPlan> links, CancellationToken ct)
    {
        var result = links.ToArray();
        foreach (var type in All)
        {
            var at = Enumerable.Range(0, result.Length).Where(i => result[i].Type == type.Type).ToList();
            if (at.Count == 0)
            {
                continue;
            }
            var prepared = await type.PrepareHostAsync(net, plan, at.Select(i => result[i]).ToList(), ct);
            for (var k = 0; k < at.Count; k++)
            {
                result[at[k]] = prepared[k];
            }
        }
        return result;
    }

    /// <summary>Each type's clean-up after an apply removed links of it.</summary>
    public static async Task RemovedAsync(IHostNetwork net, LabPlan plan, IEnumerable<LinkPlan> removed, CancellationToken ct)
    {
        foreach (var (type, mine) in ByTypeOf(removed))
        {
            await type.RemovedAsync(net, plan, mine, ct);
        }
    }

    /// <summary>The links grouped by type, in the registry's order, types without links left out.</summary>
    private static IEnumerable<(LinkTypeDefinition Type, IReadOnlyList<LinkPlan> Links)> ByTypeOf(IEnumerable<LinkPlan> links)
    {
        var byType = links.ToLookup(l => l.Type);
        return All.Where(t => byType.Contains(t.Type)).Select(t => (t, (IReadOnlyList<LinkPlan>)byType[t.Type].ToList()));
    }
}
