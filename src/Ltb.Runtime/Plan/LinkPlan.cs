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
}

/// <summary>One end of a link: a node and the Linux interface name inside it (at most 15 characters).</summary>
public sealed record LinkEndpoint(string Node, string Interface, string? Mac = null)
{
    public override string ToString() => $"{Node}:{Interface}";
}

public sealed record LinkPlan
{
    public const int DefaultMtu = 9500;

    public LinkType Type { get; init; } = LinkType.Veth;
    public required LinkEndpoint A { get; init; }
    /// <summary>The other end; for Host/MgmtNet/Macvlan the node is "host" and the interface is on the host; null for Dummy.</summary>
    public LinkEndpoint? B { get; init; }
    public int Mtu { get; init; } = DefaultMtu;
    public IReadOnlyDictionary<string, string> Vars { get; init; } = new Dictionary<string, string>();

    /// <summary>A stable key for this link (used for diffs and host-side names).</summary>
    public string Key => B is null ? $"{Type}:{A}" : $"{Type}:{A}={B}";

    public override string ToString() => B is null ? $"{A} ({Type})" : $"{A} <-> {B}";
}
