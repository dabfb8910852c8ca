namespace Ltb.Runtime.Plan;

public enum LinkType
{
    /// <summary>Node to node (wired by the lab's <see cref="LinkBackend"/>).</summary>
    Veth,
    /// <summary>Node to the host's namespace: B is the host-side interface name (<see cref="LinkEndpoint.Node"/> = "host").</summary>
    Host,
    /// <summary>Node to the lab's management bridge: B is the host-side interface name.</summary>
    MgmtNet,
    /// <summary>A macvlan on a host interface (B's interface) moved into node A.</summary>
    Macvlan,
    /// <summary>A dummy interface in node A (no B).</summary>
    Dummy,
    /// <summary>
    /// A VXLAN tunnel to another host (no B; <see cref="LinkPlan.Vxlan"/> says where): node A's interface is the vxlan
    /// device itself, created in the host's namespace (whose UDP socket carries the underlay) and moved into the node.
    /// </summary>
    Vxlan,
}

/// <summary>
/// Where a VXLAN link's frames go: the other host's tunnel address, the VNI both ends share, the UDP port, and optionally
/// the local address and the underlay interface (found from the route to <see cref="Remote"/> when not given).
/// </summary>
public sealed record VxlanPlan(string Remote, int Vni, int Port = VxlanPlan.DefaultPort, string? Local = null, string? Parent = null)
{
    /// <summary>The IANA port for VXLAN (RFC 7348); Linux's own default (8472) is not what other hosts expect.</summary>
    public const int DefaultPort = 4789;

    public const int MaxVni = (1 << 24) - 1;

    /// <summary>
    /// What a VXLAN link's MTU is smaller than the underlay's by (the kernel's own VXLAN_HEADROOM): the outer IPv4 header
    /// (20) + UDP (8) + VXLAN (8) + the inner Ethernet header (14) = 50; over IPv6 the outer header is 40, so 70. An inner
    /// frame of (underlay MTU - overhead) bytes of payload then fits one underlay packet without fragmentation.
    /// </summary>
    public static int Overhead(string remote) =>
        System.Net.IPAddress.TryParse(remote, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 70 : 50;
}

/// <summary>One end of a link: a node and the Linux interface name inside it (at most 15 characters).</summary>
public sealed record LinkEndpoint(string Node, string Interface, string? Mac = null)
{
    public override string ToString() => $"{Node}:{Interface}";
}

public sealed record LinkPlan
{
    public const int DefaultMtu = 9500;
    /// <summary>
    /// A VXLAN link's MTU when none is written: the underlay's MTU minus <see cref="VxlanPlan.Overhead"/>, found on the
    /// host; a macvlan link's: its parent's (the kernel's default; a macvlan cannot be larger than its parent).
    /// </summary>
    public const int AutoMtu = 0;

    public LinkType Type { get; init; } = LinkType.Veth;
    public required LinkEndpoint A { get; init; }
    /// <summary>The other end; for Host/MgmtNet/Macvlan the node is "host" and the interface is on the host; null for Dummy.</summary>
    public LinkEndpoint? B { get; init; }
    public int Mtu { get; init; } = DefaultMtu;
    public IReadOnlyDictionary<string, string> Vars { get; init; } = new Dictionary<string, string>();
    /// <summary>For <see cref="LinkType.Vxlan"/>: the tunnel's far end.</summary>
    public VxlanPlan? Vxlan { get; init; }

    /// <summary>A stable key for this link (used for diffs and host-side names).</summary>
    public string Key => B is null ? $"{Type}:{A}" : $"{Type}:{A}={B}";

    public override string ToString() => B is null ? $"{A} ({Type})" : $"{A} <-> {B}";
}
