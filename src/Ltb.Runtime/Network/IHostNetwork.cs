namespace Ltb.Runtime.Network;

/// <summary>The outcome of a host program run.</summary>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>A host networking command failed: the message names the command and what it said.</summary>
public sealed class HostNetworkException(string message, ProcessResult? result = null) : Exception(message)
{
    public ProcessResult? Result { get; } = result;
}

/// <summary>A host interface as <c>ip -json -details link</c> reports it.</summary>
public sealed record HostLink(
    int Index, string Name, string? Mac, int Mtu, IReadOnlyList<string> Flags, string? Alias, string? Kind, string? Master, string OperState, int? PeerIndex)
{
    public bool AdminUp => Flags.Contains("UP");
    public bool Carrier => Flags.Contains("LOWER_UP");
}

/// <summary>
/// The one place where LTB touches host networking: iproute2 (<c>ip -json</c>, <c>ip -batch</c>), tc and Open vSwitch,
/// always as argument vectors with timeouts, never through a shell. Batches keep process spawns per deploy low.
/// </summary>
public interface IHostNetwork
{
    /// <summary>Runs <c>ip [-n NETNS] [-force] -batch -</c> with the lines on stdin. Throws naming the failing line.</summary>
    Task IpBatchAsync(string? netns, IReadOnlyList<string> lines, bool force, CancellationToken ct);

    /// <summary>Runs <c>tc [-n NETNS] [-force] -batch -</c>.</summary>
    Task TcBatchAsync(string? netns, IReadOnlyList<string> lines, bool force, CancellationToken ct);

    /// <summary>Interfaces of a namespace (null: the host's).</summary>
    Task<IReadOnlyList<HostLink>> ListLinksAsync(string? netns, CancellationToken ct);

    /// <summary>
    /// Interfaces of a namespace with their addresses and counters (<c>ip -json -s addr show</c>, one process); loopback
    /// included. The peer is left for the caller, which knows the lab's links.
    /// </summary>
    Task<IReadOnlyList<Status.InterfaceDetails>> ReadInterfacesAsync(string netns, CancellationToken ct);

    /// <summary>Names under /run/netns.</summary>
    IReadOnlyList<string> ListNamespaces();

    /// <summary>One <c>ovs-vsctl</c> transaction: the commands are joined with <c>--</c>.</summary>
    Task<string> OvsVsctlAsync(IReadOnlyList<IReadOnlyList<string>> commands, CancellationToken ct);

    /// <summary><c>ovs-ofctl add-flows BRIDGE -</c>.</summary>
    Task OvsAddFlowsAsync(string bridge, IReadOnlyList<string> flows, CancellationToken ct);

    /// <summary>Whether the kernel can make interfaces of this kind (e.g. "dummy"), probed once.</summary>
    Task<bool> SupportsLinkKindAsync(string kind, CancellationToken ct);

    /// <summary>Whether Open vSwitch answers.</summary>
    Task<bool> OvsAvailableAsync(CancellationToken ct);

    /// <summary>
    /// Lets bridged frames of these Linux bridges through the host firewall where bridged traffic is filtered
    /// (br_netfilter loaded, as Docker does, with a FORWARD policy of DROP): one ACCEPT rule per bridge in DOCKER-USER
    /// (or FORWARD), commented with <paramref name="comment"/>(bridge) for removal. One iptables-restore for all.
    /// </summary>
    Task AllowBridgedAsync(IReadOnlyList<(string Bridge, string Comment)> bridges, CancellationToken ct);

    /// <summary>Removes the firewall rules whose comment starts with <paramref name="commentPrefix"/>.</summary>
    Task RemoveFirewallRulesAsync(string commentPrefix, CancellationToken ct);

    Task<ProcessResult> RunAsync(string file, IReadOnlyList<string> args, string? stdin, TimeSpan? timeout, CancellationToken ct);
}
