namespace Ltb.Runtime.Status;

/// <summary>An interface's traffic counters since it was created, as the kernel keeps them.</summary>
public sealed record InterfaceCounters(
    ulong RxBytes, ulong RxPackets, ulong RxErrors, ulong RxDropped,
    ulong TxBytes, ulong TxPackets, ulong TxErrors, ulong TxDropped);

/// <summary>An interface inside a node as the host reads it for device information: state, addresses and counters.</summary>
/// <param name="OperState">The kernel's operational state (UP, DOWN, LOWERLAYERDOWN, UNKNOWN...).</param>
/// <param name="Addresses">IPv4 and IPv6 addresses with their prefix length (<c>10.0.0.1/24</c>).</param>
/// <param name="Peer">The other end from the lab's links (<c>NODE:IFACE</c>), when the interface is a link's end.</param>
public sealed record InterfaceDetails(string Name, string? Mac, int Mtu, string OperState, bool AdminUp, bool Carrier,
    IReadOnlyList<string> Addresses, InterfaceCounters? Counters, string? Peer);

/// <summary>
/// A node of a deployed lab described by its host (device information, issue #16): what the driver knows of it, its
/// labels from the plan, its interfaces with addresses and counters, and its startup configuration as it was given.
/// </summary>
/// <param name="StartupConfig">The startup configuration the node was given (at most <c>NodeDetails.StartupConfigLimit</c>
/// bytes); null when it has none.</param>
public sealed record NodeDetails(
    string Node,
    string Runtime,
    NodeState State,
    string Image,
    string? ImageId,
    IReadOnlyList<string> ImageDigests,
    DateTimeOffset? StartedAt,
    long? DiskBytes,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyList<InterfaceDetails> Interfaces,
    string? StartupConfig,
    bool StartupConfigTruncated)
{
    /// <summary>The most of a startup configuration a description carries.</summary>
    public const int StartupConfigLimit = 256 * 1024;
}
