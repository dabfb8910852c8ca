using System.Net;
using System.Net.Sockets;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Labs;

/// <summary>A node's addresses on the lab's management network (without prefix length).</summary>
public sealed record MgmtAddresses(string? Ipv4, string? Ipv6);

/// <summary>
/// The lab's management network as LTB wires it: the Docker network's bridge device, subnets, gateways, MTU, and the
/// address LTB gave each node on it. Kept in the lab's record (and each node's addresses also in its container labels).
/// </summary>
public sealed record MgmtState(string Bridge, string? Ipv4Subnet, string? Ipv4Gateway, string? Ipv6Subnet, string? Ipv6Gateway, int Mtu,
    IReadOnlyDictionary<string, MgmtAddresses> Nodes)
{
    public MgmtState WithNodes(IReadOnlyDictionary<string, MgmtAddresses> nodes) => this with { Nodes = nodes };

    public int Ipv4Prefix() => IPNetwork.Parse(Ipv4Subnet!).PrefixLength;
    public int Ipv6Prefix() => IPNetwork.Parse(Ipv6Subnet!).PrefixLength;
}

/// <summary>How a node is attached to the lab's management network.</summary>
public enum MgmtAttachment
{
    /// <summary>Not at all: the node's own network mode (none, host, container:X, another Docker network) is passed to Docker.</summary>
    None,
    /// <summary>
    /// By LTB: the container is created with network mode none and gets eth0 as one more veth, its host end on the
    /// network's bridge. Docker's own attachment to a user-defined network costs ~45 % per container start (the embedded
    /// DNS resolver it sets up in every container; see docs/benchmarks.md), which is most of a deploy.
    /// </summary>
    Veth,
    /// <summary>By Docker, with the address LTB allocated passed explicitly (so Docker's IPAM never hands out an address LTB gave another node).</summary>
    Docker,
}

public static class MgmtAttachments
{
    /// <summary>
    /// The one rule for who attaches a node to the management network. Docker must do it for nodes that publish ports
    /// (its port publishing needs its own endpoint: NAT rules and docker-proxy bound to the container's address) and for
    /// nodes that name the management network as their network-mode themselves (they asked for Docker's attachment).
    /// Every other node on the management network is wired by LTB.
    /// </summary>
    public static MgmtAttachment Of(LabPlan plan, NodePlan node)
    {
        var mode = node.NetworkMode ?? plan.MgmtNetworkName;
        if (mode != plan.MgmtNetworkName)
        {
            return MgmtAttachment.None;
        }
        return node.Ports.Count > 0 || node.NetworkMode is not null ? MgmtAttachment.Docker : MgmtAttachment.Veth;
    }
}

/// <summary>
/// Gives every node on the management network its addresses: those of <c>fixedNodes</c> (running nodes an apply keeps)
/// as they are, then static mgmt-ipv4/ipv6 from the topology, then a node's previous (or preferred, <see cref="Plan.NodePlan.PreferredMgmtIpv4"/>) address where it is still free,
/// then the lowest free address of the subnet. Never the network or broadcast address, never the gateway, never twice.
/// </summary>
public static class MgmtAllocator
{
    public static Dictionary<string, MgmtAddresses> Allocate(LabPlan plan, MgmtState net, IReadOnlyDictionary<string, MgmtAddresses> fixedNodes,
        IReadOnlyDictionary<string, MgmtAddresses>? previous = null)
    {
        var nodes = plan.Nodes.Where(n => MgmtAttachments.Of(plan, n) != MgmtAttachment.None).ToList();
        var v4 = net.Ipv4Subnet is null ? null : new Pool(plan.LabName, net.Ipv4Subnet, net.Ipv4Gateway);
        var v6 = net.Ipv6Subnet is null ? null : new Pool(plan.LabName, net.Ipv6Subnet, net.Ipv6Gateway);
        var result = new Dictionary<string, MgmtAddresses>(StringComparer.Ordinal);
        foreach (var n in nodes.Where(n => fixedNodes.ContainsKey(n.Name)))
        {
            var a = fixedNodes[n.Name];
            v4?.Take(n.Name, a.Ipv4, "its running address");
            v6?.Take(n.Name, a.Ipv6, "its running address");
            result[n.Name] = a;
        }
        var rest = nodes.Where(n => !fixedNodes.ContainsKey(n.Name)).ToList();
        foreach (var n in rest)
        {
            if (n.MgmtIpv4 is not null && v4 is null || n.MgmtIpv6 is not null && v6 is null)
            {
                throw new LabRuntimeException(plan.LabName, n.Name,
                    $"the static management address {n.MgmtIpv4 ?? n.MgmtIpv6} needs an {(n.MgmtIpv4 is not null ? "IPv4" : "IPv6")} management subnet; set one in the topology (mgmt ipv4-subnet / ipv6-subnet)");
            }
            v4?.Take(n.Name, n.MgmtIpv4, "mgmt-ipv4");
            v6?.Take(n.Name, n.MgmtIpv6, "mgmt-ipv6");
        }
        foreach (var n in rest)
        {
            var before = previous?.GetValueOrDefault(n.Name);
            result[n.Name] = new MgmtAddresses(
                v4 is null ? null : n.MgmtIpv4 ?? v4.PreferOrNext(n.Name, before?.Ipv4 ?? n.PreferredMgmtIpv4),
                v6 is null ? null : n.MgmtIpv6 ?? v6.PreferOrNext(n.Name, before?.Ipv6));
        }
        return result;
    }

    /// <summary>The first host address of a subnet: the gateway LTB gives the network when the topology names none.</summary>
    public static string FirstHost(string subnet)
    {
        var s = IPNetwork.Parse(subnet);
        return FromNumber(ToNumber(s.BaseAddress) + 1, s.BaseAddress.AddressFamily).ToString();
    }

    private static UInt128 ToNumber(IPAddress a)
    {
        UInt128 v = 0;
        foreach (var b in a.GetAddressBytes())
        {
            v = v << 8 | b;
        }
        return v;
    }

    private static IPAddress FromNumber(UInt128 v, AddressFamily family)
    {
        var bytes = new byte[family == AddressFamily.InterNetwork ? 4 : 16];
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            bytes[i] = (byte)(v & 0xff);
            v >>= 8;
        }
        return new IPAddress(bytes);
    }

    private sealed class Pool
    {
        private readonly string _lab;
        private readonly IPNetwork _subnet;
        private readonly UInt128 _first;
        private readonly UInt128 _last;
        private readonly Dictionary<UInt128, string> _used = [];
        private UInt128 _next;

        public Pool(string lab, string subnet, string? gateway)
        {
            _lab = lab;
            _subnet = IPNetwork.Parse(subnet);
            var bits = _subnet.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
            var size = bits - _subnet.PrefixLength >= 127 ? UInt128.MaxValue : (UInt128.One << (bits - _subnet.PrefixLength)) - 1;
            _first = ToNumber(_subnet.BaseAddress) + 1;
            // IPv4 keeps its broadcast address out; IPv6 has none (its last address is simply never reached in practice).
            _last = ToNumber(_subnet.BaseAddress) + size - (bits == 32 ? UInt128.One : UInt128.Zero);
            _next = _first;
            if (gateway is not null && IPAddress.TryParse(gateway, out var g))
            {
                _used[ToNumber(g)] = "the gateway";
            }
        }

        public void Take(string node, string? address, string what)
        {
            if (address is null)
            {
                return;
            }
            if (!IPAddress.TryParse(address, out var a) || a.AddressFamily != _subnet.BaseAddress.AddressFamily || !_subnet.Contains(a))
            {
                throw new LabRuntimeException(_lab, node, $"{what} {address} is not an address of the management subnet {_subnet}");
            }
            var v = ToNumber(a);
            if (v < _first || v > _last)
            {
                throw new LabRuntimeException(_lab, node, $"{what} {address} is the network or broadcast address of {_subnet}; choose a host address");
            }
            if (_used.TryGetValue(v, out var other))
            {
                throw new LabRuntimeException(_lab, node, $"{what} {address} is already taken by {other}; give each node its own management address");
            }
            _used[v] = $"node '{node}'";
        }

        public string PreferOrNext(string node, string? previous)
        {
            if (previous is not null && IPAddress.TryParse(previous, out var p) && _subnet.Contains(p))
            {
                var v = ToNumber(p);
                if (v >= _first && v <= _last && _used.TryAdd(v, $"node '{node}'"))
                {
                    return previous;
                }
            }
            while (_next <= _last)
            {
                var v = _next++;
                if (_used.TryAdd(v, $"node '{node}'"))
                {
                    return FromNumber(v, _subnet.BaseAddress.AddressFamily).ToString();
                }
            }
            throw new LabRuntimeException(_lab, node, $"the management subnet {_subnet} has no free address left; choose a larger subnet");
        }
    }
}
