using Ltb.Topology.Model;
using Ltb.Topology.Yaml;

namespace Ltb.Topology.Spec;

/// <summary>A topology as written, in either format: what the resolver turns into a <see cref="Lab"/>.</summary>
public sealed class TopologySpec(string file, TopologyFormat format)
{
    public string File { get; } = file;
    public TopologyFormat Format { get; } = format;
    public Positioned<string>? Name { get; set; }
    public Positioned<string>? Prefix { get; set; }
    public string? Description { get; set; }
    public MgmtNetwork Mgmt { get; set; } = new();
    public SourceSpan MgmtSpan { get; set; }
    /// <summary>`mgmt:` as written, for the positions of the settings a non-admin may not use.</summary>
    public YNode? MgmtWritten { get; set; }
    public NodeSpec? Defaults { get; set; }
    public Dictionary<string, NodeSpec> Kinds { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, NodeSpec> Groups { get; } = new(StringComparer.Ordinal);
    public List<(Positioned<string> Name, NodeSpec Spec)> Nodes { get; } = [];
    public List<LinkSpec> Links { get; } = [];
}

/// <summary>An endpoint as written: `node:interface` or the extended mapping.</summary>
public sealed record EndpointSpec(string Node, string Interface, SourceSpan Span)
{
    public string? Mac { get; init; }
    public string? Ipv4 { get; init; }
    public string? Ipv6 { get; init; }
    public Dictionary<string, object?>? Vars { get; init; }
}

/// <summary>A link as written, brief or extended, before its type and endpoints are resolved.</summary>
public sealed class LinkSpec(SourceSpan span, int number)
{
    public SourceSpan Span { get; } = span;

    /// <summary>1-based position in the link list.</summary>
    public int Number { get; } = number;

    /// <summary>The explicit `type:` of the extended form; null for the brief form.</summary>
    public Positioned<string>? Type { get; set; }

    public List<EndpointSpec> Endpoints { get; } = [];
    public Positioned<string>? HostInterface { get; set; }
    public int? Mtu { get; set; }
    public string? Mode { get; set; }
    public Positioned<string>? Remote { get; set; }
    public int? Vni { get; set; }
    public int? UdpPort { get; set; }
    public string? ParentInterface { get; set; }
    public Dictionary<string, object?>? Vars { get; set; }
    public List<(Positioned<string> Key, Positioned<string> Value)>? Labels { get; set; }
}
