using Ltb.Topology.Model;
using Ltb.Topology.Spec;
using Ltb.Topology.Yaml;

namespace Ltb.Topology.LtbFormat;

/// <summary>Reads an LTB lab template (docs/topology.md; `format: ltb/v1`) into a <see cref="TopologySpec"/>.</summary>
public static class LtbParser
{
    public const string FormatKey = "format";
    public const string FormatV1 = "ltb/v1";

    private static readonly string[] TopKeys = ["format", "name", "description", "prefix", "mgmt", "defaults", "devices", "groups", "nodes", "links"];

    /// <summary>True when <paramref name="root"/> declares the LTB format (how the loader tells the formats apart).</summary>
    public static bool Claims(YNode root) =>
        root is YMapping m && m[FormatKey] is YScalar s && s.Value.StartsWith("ltb/", StringComparison.Ordinal);

    public static TopologySpec Parse(YMapping root, string file, YamlValueReader r)
    {
        var spec = new TopologySpec(file, TopologyFormat.Ltb);
        r.RejectUnknownKeys(root, "the lab template", TopKeys);
        if (root[FormatKey] is YScalar { Value: not FormatV1 } format)
        {
            r.Diagnostics.Error(format.Span, $"unknown format '{format.Value}'; this LTB reads '{FormatV1}'");
        }
        spec.Name = root["name"] is { } name ? r.PositionedText(name, "'name'") : null;
        spec.Description = root["description"] is { } d ? r.Text(d, "'description'") : null;
        spec.Prefix = root["prefix"] is { } prefix ? r.PositionedText(prefix, "'prefix'") ?? new Positioned<string>("", prefix.Span) : null;
        if (root["mgmt"] is { } mgmt)
        {
            spec.Mgmt = MgmtReader.Parse(mgmt, r);
            spec.MgmtWritten = mgmt;
            spec.MgmtSpan = mgmt.Span;
        }
        var fields = NodeFields.Ltb;
        if (root["defaults"] is { } defaults)
        {
            spec.Defaults = fields.Parse(defaults, "'defaults'", r);
        }
        SpecSections.ReadNamed(root["devices"], "device", spec.Kinds, fields, r);
        SpecSections.ReadNamed(root["groups"], "group", spec.Groups, fields, r);
        SpecSections.ReadNodes(root["nodes"], spec, fields, r);
        SpecSections.ReadLinks(root["links"], spec, r);
        return spec;
    }
}
