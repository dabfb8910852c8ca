using Ltb.Topology.Model;
using Ltb.Topology.Spec;
using Ltb.Topology.Yaml;

namespace Ltb.Topology.Containerlab;

/// <summary>Reads a containerlab topology (`*.clab.yml`) into a <see cref="TopologySpec"/>.</summary>
public static class ContainerlabParser
{
    private static readonly string[] TopKeys = ["name", "prefix", "mgmt", "topology", "settings", "debug"];
    private static readonly string[] TopologyKeys = ["defaults", "kinds", "groups", "nodes", "links"];

    public static TopologySpec Parse(YMapping root, string file, YamlValueReader r)
    {
        var spec = new TopologySpec(file, TopologyFormat.Containerlab);
        r.RejectUnknownKeys(root, "the topology file", TopKeys);
        spec.Name = root["name"] is { } name ? r.PositionedText(name, "'name'") : null;
        spec.Prefix = root["prefix"] is { } prefix ? r.PositionedText(prefix, "'prefix'") ?? new Positioned<string>("", prefix.Span) : null;
        if (root["mgmt"] is { } mgmt)
        {
            spec.Mgmt = MgmtReader.Parse(mgmt, r);
            spec.MgmtWritten = mgmt;
            spec.MgmtSpan = mgmt.Span;
        }
        foreach (var key in new[] { "settings", "debug" })
        {
            if (root.Find(key) is { } entry)
            {
                r.Diagnostics.Warning(entry.Key.Span, $"'{key}' is not supported by LTB yet; it is ignored");
            }
        }
        if (root["topology"] is not { } topologyNode || r.Mapping(topologyNode, "'topology'") is not { } topology)
        {
            r.Diagnostics.Error(root.Span, "a containerlab topology needs 'topology:' with 'nodes:'");
            return spec;
        }
        r.RejectUnknownKeys(topology, "'topology'", TopologyKeys);
        var fields = NodeFields.Containerlab;
        if (topology["defaults"] is { } defaults)
        {
            spec.Defaults = fields.Parse(defaults, "'topology.defaults'", r);
        }
        SpecSections.ReadNamed(topology["kinds"], "kind", spec.Kinds, fields, r);
        SpecSections.ReadNamed(topology["groups"], "group", spec.Groups, fields, r);
        SpecSections.ReadNodes(topology["nodes"], spec, fields, r);
        SpecSections.ReadLinks(topology["links"], spec, r);
        return spec;
    }
}
