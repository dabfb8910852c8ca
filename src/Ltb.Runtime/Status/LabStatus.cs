using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Status;

public enum LabState { Deploying, Running, Degraded, Failed, Stopped, Absent }

public enum NodeState { Created, Running, Stopped, Exited, Missing, Failed }

/// <summary>An interface inside a node's namespace, as the host sees it now.</summary>
public sealed record InterfaceStatus(string Name, string? Mac, int Mtu, bool AdminUp, bool Carrier, string? Peer);

public sealed record NodeStatus(
    string Name,
    string ContainerName,
    string? ContainerId,
    string Image,
    NodeState State,
    string? MgmtIpv4,
    string? MgmtIpv6,
    int? Pid,
    IReadOnlyList<InterfaceStatus> Interfaces,
    string? Error = null,
    IReadOnlyList<PublishedPort>? Ports = null);

/// <summary>A port of a node published on the host, as the engine bound it: connect to HostIp:HostPort to reach NodePort.</summary>
public sealed record PublishedPort(string HostIp, int HostPort, int NodePort, string Protocol);

public sealed record LinkStatus(string Key, LinkType Type, string A, string? B, bool? Up, string? Error = null);

public sealed record LabStatus(
    string LabName,
    LabState State,
    LinkBackend LinkBackend,
    string? MgmtNetwork,
    string? MgmtIpv4Subnet,
    string? MgmtIpv6Subnet,
    IReadOnlyList<NodeStatus> Nodes,
    IReadOnlyList<LinkStatus> Links,
    string? Error = null)
{
    public NodeStatus Node(string name) => Nodes.Single(n => n.Name == name);

    /// <summary>The lab's mirror interfaces (each receives a copy of one link end's traffic), listed with its links.</summary>
    public IReadOnlyList<Capture.MirrorStatus> Mirrors { get; init; } = [];
}

/// <summary>A failure a user can cause or see: names the lab, the node (when there is one) and the cause.</summary>
public class LabRuntimeException : Exception
{
    public LabRuntimeException(string lab, string? node, string cause, Exception? inner = null)
        : base(node is null ? $"lab '{lab}': {cause}" : $"lab '{lab}', node '{node}': {cause}", inner)
    {
        Lab = lab;
        Node = node;
        Cause = cause;
    }

    public string Lab { get; }
    public string? Node { get; }
    public string Cause { get; }
    /// <summary>The lab's status after the failure (Failed with what did deploy, or Absent after a rollback), when known.</summary>
    public LabStatus? Status { get; init; }
}
