using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Labs;

/// <summary>Start order: nodes grouped into waves by stage, then by wait-for depth. A wave starts after the previous one ran its exec commands.</summary>
internal static class Waves
{
    public static IReadOnlyList<IReadOnlyList<NodePlan>> Of(string lab, IReadOnlyList<NodePlan> nodes, IReadOnlyList<NodePlan> all)
    {
        var byName = all.ToDictionary(n => n.Name, StringComparer.Ordinal);
        var depth = new Dictionary<string, int>(StringComparer.Ordinal);
        int Depth(string name, HashSet<string> path)
        {
            if (depth.TryGetValue(name, out var d))
            {
                return d;
            }
            if (!path.Add(name))
            {
                throw new LabRuntimeException(lab, name, $"wait-for forms a cycle: {string.Join(" -> ", path)} -> {name}");
            }
            var n = byName[name];
            d = n.WaitFor.Count == 0 ? 0 : n.WaitFor.Max(w => Depth(w, path) + 1);
            path.Remove(name);
            return depth[name] = d;
        }
        return nodes
            .GroupBy(n => (n.Stage, Depth(n.Name, [])))
            .OrderBy(g => g.Key.Stage).ThenBy(g => g.Key.Item2)
            .Select(g => (IReadOnlyList<NodePlan>)g.ToList())
            .ToList();
    }
}
