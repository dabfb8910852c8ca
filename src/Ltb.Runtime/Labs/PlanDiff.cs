using Ltb.Runtime.Links.Types;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Labs;

/// <summary>What an apply changes: nodes added, removed, changed (recreated), and the links to remove and create.</summary>
public sealed record PlanDiff(
    IReadOnlyList<NodePlan> AddedNodes,
    IReadOnlyList<string> RemovedNodes,
    IReadOnlyList<NodePlan> ChangedNodes,
    IReadOnlyList<LinkPlan> LinksToRemove,
    IReadOnlyList<LinkPlan> LinksToCreate)
{
    public bool IsEmpty => AddedNodes.Count + RemovedNodes.Count + ChangedNodes.Count + LinksToRemove.Count + LinksToCreate.Count == 0;

    public static PlanDiff Compute(LabPlan old, LabPlan @new)
    {
        var oldNodes = old.Nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        var newNodes = @new.Nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        var added = @new.Nodes.Where(n => !oldNodes.ContainsKey(n.Name)).ToList();
        var removed = old.Nodes.Where(n => !newNodes.ContainsKey(n.Name)).Select(n => n.Name).ToList();
        var changed = @new.Nodes.Where(n => oldNodes.TryGetValue(n.Name, out var o) && Names.NodeHash(o) != Names.NodeHash(n)).ToList();
        var recreated = removed.Concat(changed.Select(n => n.Name)).Concat(added.Select(n => n.Name)).ToHashSet(StringComparer.Ordinal);

        bool Touches(LinkPlan l) => LinkTypes.NodeEnds(l).Any(e => recreated.Contains(e.Node));
        var oldLinks = old.Links.ToDictionary(LinkIdentity, StringComparer.Ordinal);
        var newLinks = @new.Links.ToDictionary(LinkIdentity, StringComparer.Ordinal);
        var linksToRemove = old.Links.Where(l => !newLinks.ContainsKey(LinkIdentity(l)) || Touches(l)).ToList();
        var linksToCreate = @new.Links.Where(l => !oldLinks.ContainsKey(LinkIdentity(l)) || Touches(l)).ToList();
        return new PlanDiff(added, removed, changed, linksToRemove, linksToCreate);
    }

    /// <summary>A link is unchanged when its endpoints, MTU, MACs and vars are all the same.</summary>
    private static string LinkIdentity(LinkPlan l) =>
        System.Text.Json.JsonSerializer.Serialize(l, LabStateStore.Json);

    public override string ToString() =>
        $"{AddedNodes.Count} nodes added, {RemovedNodes.Count} removed, {ChangedNodes.Count} recreated; {LinksToRemove.Count} links removed, {LinksToCreate.Count} created";
}
