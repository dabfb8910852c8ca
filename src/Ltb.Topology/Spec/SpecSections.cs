using Ltb.Topology.Yaml;

namespace Ltb.Topology.Spec;

/// <summary>Sections both formats share: named node settings (kinds/devices, groups), nodes, links.</summary>
internal static class SpecSections
{
    public static void ReadNamed(YNode? node, string what, Dictionary<string, NodeSpec> into, NodeFields fields, YamlValueReader r)
    {
        if (node is null || node is YScalar { IsNull: true } || r.Mapping(node, $"'{what}s'") is not { } m)
        {
            return;
        }
        foreach (var entry in m.Entries)
        {
            into[entry.Key.Value] = fields.Parse(entry.Value, $"{what} '{entry.Key.Value}'", r, entry.Key.Span);
        }
    }

    public static void ReadNodes(YNode? node, TopologySpec spec, NodeFields fields, YamlValueReader r)
    {
        if (node is null || node is YScalar { IsNull: true } || r.Mapping(node, "'nodes'") is not { } m)
        {
            return;
        }
        foreach (var entry in m.Entries)
        {
            spec.Nodes.Add((new Positioned<string>(entry.Key.Value, entry.Key.Span), fields.Parse(entry.Value, $"node '{entry.Key.Value}'", r)));
        }
    }

    public static void ReadLinks(YNode? node, TopologySpec spec, YamlValueReader r)
    {
        if (node is null || node is YScalar { IsNull: true })
        {
            return;
        }
        if (node is not YSequence list)
        {
            r.Diagnostics.Error(node.Span, $"'links' must be a list, not {node.Describe()}");
            return;
        }
        for (var i = 0; i < list.Items.Count; i++)
        {
            if (LinkReader.Parse(list.Items[i], i + 1, r) is { } link)
            {
                spec.Links.Add(link);
            }
        }
    }
}
