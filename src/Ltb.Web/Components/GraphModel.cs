using Ltb.Contracts;
using System.Text.Json;

namespace Ltb.Web.Components;

/// <summary>
/// What the topology graph draws (client/src/graph.js): nodes with a state and links between NODE:IFACE ends. From a
/// lab (live states) or from a topology's resolved model, the JSON of `ltb topology show` (a preview: every node
/// <see cref="Defined"/>, every link up).
/// </summary>
public sealed record GraphModel(IReadOnlyList<GraphModel.GraphNode> Nodes, IReadOnlyList<GraphModel.GraphLink> Links)
{
    /// <summary>The state of a node that exists only on paper (drawn grey).</summary>
    public const string Defined = "defined";

    public sealed record GraphNode(string Name, string State, string Kind);

    public sealed record GraphLink(string A, string? B, string State, string Key);

    public static GraphModel FromLab(LabDto lab) => new(
        [.. lab.Nodes.Select(n => new GraphNode(n.Name, n.State, n.Kind))],
        [.. lab.Links.Select(l => new GraphLink(l.A, l.B, l.State, l.Key))]);

    /// <summary>The model's nodes (name, kind) and links (their endpoints' node:interface; a one-ended link keeps only A).</summary>
    public static GraphModel FromModel(JsonElement model)
    {
        var nodes = Items(model, "nodes")
            .Select(n => new GraphNode(Text(n, "name"), Defined, Text(n, "kind")))
            .Where(n => n.Name.Length > 0).ToList();
        var links = Items(model, "links").Select((l, i) =>
        {
            var ends = Items(l, "endpoints").Select(e => $"{Text(e, "node")}:{Text(e, "interface")}").ToList();
            return ends.Count == 0 ? null : new GraphLink(ends[0], ends.Count > 1 ? ends[1] : null, "up", $"link-{i + 1}");
        }).OfType<GraphLink>().ToList();
        return new GraphModel(nodes, links);
    }

    private static List<JsonElement> Items(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array
            ? [.. list.EnumerateArray()]
            : [];

    private static string Text(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";
}
