using System.Text.Json.Serialization;

namespace Ltb.Topology.Model;

/// <summary>Which format a topology was written in.</summary>
public enum TopologyFormat
{
    Containerlab,
    Ltb,
}

/// <summary>
/// A resolved lab: inheritance applied, variables substituted, paths made absolute, links normalised, interface
/// names mapped. Immutable; what the planner turns into containers, VMs and links.
/// </summary>
public sealed record Lab
{
    public required string Name { get; init; }

    /// <summary>containerlab's container-name prefix: null = default (`clab`), "" = no prefix.</summary>
    public string? Prefix { get; init; }

    public string? Description { get; init; }

    public required MgmtNetwork Mgmt { get; init; }

    public required IReadOnlyList<Node> Nodes { get; init; }

    public required IReadOnlyList<Link> Links { get; init; }

    [JsonIgnore]
    public string SourceFile { get; init; } = "";

    [JsonIgnore]
    public TopologyFormat Format { get; init; }

    public Node? FindNode(string name) => Nodes.FirstOrDefault(n => n.Name == name);
}

/// <summary>The management network every node's management interface joins.</summary>
public sealed record MgmtNetwork
{
    public const string DefaultNetwork = "clab";
    public const string DefaultIpv4Subnet = "172.20.20.0/24";
    public const string DefaultIpv6Subnet = "3fff:172:20:20::/64";

    public string Network { get; init; } = DefaultNetwork;

    public string? Ipv4Subnet { get; init; } = DefaultIpv4Subnet;

    public string? Ipv6Subnet { get; init; } = DefaultIpv6Subnet;

    public string? Ipv4Gateway { get; init; }

    public string? Ipv6Gateway { get; init; }

    public string? Ipv4Range { get; init; }

    public string? Ipv6Range { get; init; }

    public int? Mtu { get; init; }

    /// <summary>The host bridge name; null lets the runtime choose.</summary>
    public string? Bridge { get; init; }

    public bool? ExternalAccess { get; init; }

    /// <summary>
    /// True when the topology wrote a subnet itself. Otherwise the subnets above are containerlab's defaults, and a
    /// multi-lab host picks a free subnet per lab instead (unless nodes pin management addresses).
    /// </summary>
    [JsonIgnore]
    public bool SubnetWritten { get; init; }
}
