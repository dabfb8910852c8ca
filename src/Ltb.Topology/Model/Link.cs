using System.Text.Json.Serialization;

namespace Ltb.Topology.Model;

/// <summary>containerlab's link types (`links/` in containerlab: one file per type).</summary>
public enum LinkType
{
    /// <summary>A veth pair between two nodes.</summary>
    Veth,

    /// <summary>One node interface paired with an interface in the host namespace.</summary>
    Host,

    /// <summary>One node interface paired with an interface on the management bridge.</summary>
    MgmtNet,

    /// <summary>A macvlan on a host interface.</summary>
    Macvlan,

    /// <summary>A VXLAN tunnel to a remote host.</summary>
    Vxlan,

    /// <summary>A VXLAN tunnel stitched to the node interface through a veth.</summary>
    VxlanStitch,

    /// <summary>A dummy interface in the node.</summary>
    Dummy,
}

/// <summary>A resolved link: its type, its endpoints, and the settings of the type.</summary>
public sealed record Link
{
    public required LinkType Type { get; init; }

    public required IReadOnlyList<Endpoint> Endpoints { get; init; }

    public int? Mtu { get; init; }

    public IReadOnlyDictionary<string, object?> Vars { get; init; } = Empty.ObjectMap;

    public IReadOnlyDictionary<string, string> Labels { get; init; } = Empty.Map;

    /// <summary>macvlan: `bridge`, `vepa`... (containerlab default bridge).</summary>
    public string? Mode { get; init; }

    /// <summary>vxlan / vxlan-stitch: remote address, VNI, UDP port, parent interface.</summary>
    public VxlanSettings? Vxlan { get; init; }

    [JsonIgnore]
    public SourceSpan Span { get; init; }

    /// <summary>1-based position in the topology's link list, for messages ("link 3").</summary>
    [JsonIgnore]
    public int Number { get; init; }
}

public sealed record VxlanSettings(string Remote, int Vni, int? UdpPort, string? ParentInterface);

/// <summary>
/// One end of a link. <see cref="Node"/> is a lab node, or `host` / `mgmt-net` / `macvlan` for the special
/// endpoints. <see cref="Interface"/> is as written; <see cref="LinuxInterface"/> is the mapped Linux name.
/// </summary>
public sealed record Endpoint
{
    public const string HostNode = "host";
    public const string MgmtNetNode = "mgmt-net";
    public const string MacvlanNode = "macvlan";

    public required string Node { get; init; }

    public required string Interface { get; init; }

    public required string LinuxInterface { get; init; }

    public string? Mac { get; init; }

    public string? Ipv4 { get; init; }

    public string? Ipv6 { get; init; }

    public IReadOnlyDictionary<string, object?> Vars { get; init; } = Empty.ObjectMap;

    [JsonIgnore]
    public SourceSpan Span { get; init; }

    public bool IsSpecial => Node is HostNode or MgmtNetNode or MacvlanNode;

    public override string ToString() => $"{Node}:{Interface}";
}
