namespace Ltb.Runtime.Plan;

/// <summary>How the runtime joins the two ends of a node-to-node link.</summary>
public enum LinkBackend
{
    /// <summary>A veth pair straight between the two namespaces (fastest, nothing on the host).</summary>
    Veth,
    /// <summary>Each end is a veth pair whose host side sits on a per-link Linux bridge; link-local groups are redirected with tc.</summary>
    LinuxBridge,
    /// <summary>Each end is a veth pair whose host side is a port of a per-link Open vSwitch bridge with explicit flows.</summary>
    Ovs,
}

/// <summary>The lab's management network (a Docker bridge network). Null subnets are chosen automatically.</summary>
public sealed record MgmtNetworkPlan
{
    /// <summary>Docker network name; null means <c>ltb-&lt;lab&gt;</c>.</summary>
    public string? Name { get; init; }
    /// <summary>IPv4 subnet in CIDR form; null: the runtime picks a free /24 from <see cref="Labs.DeployOptions.MgmtIpv4Pool"/>.</summary>
    public string? Ipv4Subnet { get; init; }
    public string? Ipv4Gateway { get; init; }
    /// <summary>
    /// A hint for an automatic subnet (<see cref="Ipv4Subnet"/> null): tried first when it is a /24 inside the pool and free.
    /// A restore whose VMs resume from their RAM state asks for the snapshot's subnet, so their guests keep a working address.
    /// </summary>
    public string? PreferredIpv4Subnet { get; init; }
    /// <summary>IPv6 subnet; null: no IPv6 on the management network.</summary>
    public string? Ipv6Subnet { get; init; }
    public string? Ipv6Gateway { get; init; }
    public int? Mtu { get; init; }
}

/// <summary>
/// The input of the host runtime: an immutable, fully resolved plan of one lab on one host.
/// Everything is explicit (no kinds, no defaults left to resolve) so that it can be serialised to a remote agent.
/// </summary>
public sealed record LabPlan
{
    public required string LabName { get; init; }
    /// <summary>
    /// Planned from an administrator's topology: the runtime then allows what only they may ask of a host (a management
    /// network of another name than the lab's own, network-mode container:NAME outside the lab). False (the default) for
    /// everybody else's: the runtime refuses whatever would reach outside the lab, whatever validation let through.
    /// </summary>
    public bool Trusted { get; init; }
    public MgmtNetworkPlan Mgmt { get; init; } = new();
    public LinkBackend LinkBackend { get; init; } = LinkBackend.Veth;
    public IReadOnlyList<NodePlan> Nodes { get; init; } = [];
    public IReadOnlyList<LinkPlan> Links { get; init; } = [];

    public string MgmtNetworkName => Mgmt.Name ?? $"ltb-{LabName}";
}
