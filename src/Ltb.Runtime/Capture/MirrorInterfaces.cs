using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Capture;

/// <summary>A mirror interface to create (serialisable: it crosses to a remote host's agent).</summary>
/// <param name="Name">The mirror interface's name (a Linux interface name, unique in the lab).</param>
public sealed record MirrorRequest(string Lab, string Node, string Interface, string Name);

/// <summary>A mirror interface of a lab: <see cref="Name"/> receives a copy of both directions of <c>NODE:IFACE</c>.</summary>
public sealed record MirrorStatus(string Name, string Node, string Interface);

/// <summary>How mirror interfaces are named (by the user, or by default from the link end).</summary>
public static partial class MirrorNames
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")]
    private static partial Regex NameRegex();

    /// <summary>A Linux interface name: 1-15 letters, digits, '_', '.', '-', starting with a letter or digit.</summary>
    public static bool IsValid(string name) => NameRegex().IsMatch(name);

    /// <summary>A default mirror name for NODE:IFACE: <c>NODE-IFACE</c> when it is a valid name, else a short hash.</summary>
    public static string Default(string node, string iface)
    {
        var plain = $"{node}-{iface}";
        return IsValid(plain) ? plain
            : "m" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{node}:{iface}")))[..10];
    }
}

/// <summary>
/// Mirror interfaces: an interface that receives a copy of every packet a node's link interface sends and receives,
/// without changing the link's traffic. The copy is made with tc on the node's end of the link (a clsact qdisc, a
/// match-all filter on ingress and on egress, each with <c>mirred egress mirror</c>): the node's end exists for every link
/// type and backend (veth, bridge, OVS, VXLAN across hosts), so one mechanism serves them all and sees exactly what the
/// node sends and receives. mirred needs its target in the filter's namespace, so the copy goes into a veth pair whose
/// one end (<c>lm&lt;hash&gt;</c>) is in the node's namespace and whose other end, the mirror interface, is in the lab's
/// mirror namespace <c>/run/netns/ltb-LAB-~mirrors</c> on that host. That namespace holds nothing else (no address,
/// no route, IPv6 address generation off), so packets a node sends into its end reach no host stack; captures of the
/// mirror run there. The mirror's alias <c>ltb/LAB/mirror/NODE/IFACE</c> is its record: listing, removal and destroy
/// work from the host alone.
/// </summary>
internal sealed class MirrorInterfaces(LabContext x)
{
    /// <summary>The tc filter preference the mirror's two filters use on the mirrored interface (one mirror per interface).</summary>
    private const int FilterPref = 49152;
    private const int Mtu = 65535;
    /// <summary>
    /// Every packet, with the u32 classifier: kernels built without cls_matchall (this project's CI machine among them)
    /// still have u32, and a zero mask matches any packet of any protocol.
    /// </summary>
    private const string MatchAll = "u32 match u32 0 0";

    private static string Alias(string lab, string node, string iface) => $"{Names.AliasPrefix(lab)}mirror/{node}/{iface}";

    private static string SourceEnd(string lab, string node, string iface) =>
        "lm" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{lab}\nmirror\n{node}\n{iface}")))[..9];

    /// <summary>The caller holds the lab's lock.</summary>
    public async Task<MirrorStatus> CreateAsync(MirrorRequest r, CancellationToken ct)
    {
        var (lab, node, iface) = (r.Lab, r.Node, r.Interface);
        if (!MirrorNames.IsValid(r.Name))
        {
            throw new LabRuntimeException(lab, node,
                $"'{r.Name}' is not a valid mirror interface name (1-15 letters, digits, '_', '.', '-', not starting with '.', '_' or '-')");
        }
        x.FindLink(lab, node, iface);
        var nodeNs = Names.Netns(lab, node);
        if (!x.Net.ListNamespaces().Contains(nodeNs))
        {
            throw new LabRuntimeException(lab, node, "the node's network namespace is gone (is the node running?)");
        }
        var existing = await ListAsync(lab, ct);
        if (existing.FirstOrDefault(m => m.Name == r.Name) is { } same)
        {
            throw new LabRuntimeException(lab, node, $"a mirror interface named '{r.Name}' exists already (it mirrors {same.Node}:{same.Interface}); choose another name");
        }
        if (existing.FirstOrDefault(m => m.Node == node && m.Interface == iface) is { } twice)
        {
            throw new LabRuntimeException(lab, node, $"{node}:{iface} is mirrored already, by '{twice.Name}'");
        }
        var mirrorNs = Names.MirrorNetns(lab);
        if (!x.Net.ListNamespaces().Contains(mirrorNs))
        {
            await x.Net.IpBatchAsync(null, [$"netns add {mirrorNs}"], force: false, ct);
        }
        var source = SourceEnd(lab, node, iface);
        var alias = Alias(lab, node, iface);
        try
        {
            await x.Net.IpBatchAsync(nodeNs, [
                $"link add {source} mtu {Mtu} type veth peer name {r.Name} mtu {Mtu} netns {mirrorNs}",
                $"link set {source} addrgenmode none alias {alias}",
                $"link set {source} up",
            ], force: false, ct);
            await x.Net.IpBatchAsync(mirrorNs, [
                $"link set {r.Name} addrgenmode none alias {alias}",
                $"link set {r.Name} up",
            ], force: false, ct);
            // A clsact the interface already has (an earlier mirror's, kept) is fine: the add then fails alone.
            await x.Net.TcBatchAsync(nodeNs, [$"qdisc add dev {iface} clsact"], force: true, ct);
            await x.Net.TcBatchAsync(nodeNs, [
                $"filter add dev {iface} ingress pref {FilterPref} protocol all {MatchAll} action mirred egress mirror dev {source}",
                $"filter add dev {iface} egress pref {FilterPref} protocol all {MatchAll} action mirred egress mirror dev {source}",
            ], force: false, ct);
        }
        catch (HostNetworkException e)
        {
            await RemoveEndsAsync(lab, node, iface, ct);
            throw new LabRuntimeException(lab, node, $"the mirror of {iface} could not be created: {e.Message}", e);
        }
        return new MirrorStatus(r.Name, node, iface);
    }

    /// <summary>Removes a mirror interface by name: its filters, its veth pair. The caller holds the lab's lock.</summary>
    public async Task<MirrorStatus> RemoveAsync(string lab, string name, CancellationToken ct)
    {
        var mirror = (await ListAsync(lab, ct)).FirstOrDefault(m => m.Name == name)
                     ?? throw new LabRuntimeException(lab, null, $"the lab has no mirror interface '{name}' on this host");
        await RemoveEndsAsync(lab, mirror.Node, mirror.Interface, ct);
        if ((await ListAsync(lab, ct)).Count == 0)
        {
            await x.Net.IpBatchAsync(null, [$"netns delete {Names.MirrorNetns(lab)}"], force: true, ct);
        }
        return mirror;
    }

    private async Task RemoveEndsAsync(string lab, string node, string iface, CancellationToken ct)
    {
        var nodeNs = Names.Netns(lab, node);
        if (!x.Net.ListNamespaces().Contains(nodeNs))
        {
            return;
        }
        await x.Net.TcBatchAsync(nodeNs, [
            $"filter del dev {iface} ingress pref {FilterPref}",
            $"filter del dev {iface} egress pref {FilterPref}",
        ], force: true, ct);
        // Deleting one end of a veth pair deletes the other, in the mirror namespace.
        await x.Net.IpBatchAsync(nodeNs, [$"link del {SourceEnd(lab, node, iface)}"], force: true, ct);
    }

    /// <summary>The lab's mirror interfaces on this host, read from the mirror namespace's aliases.</summary>
    public async Task<IReadOnlyList<MirrorStatus>> ListAsync(string lab, CancellationToken ct)
    {
        var ns = Names.MirrorNetns(lab);
        if (!x.Net.ListNamespaces().Contains(ns))
        {
            return [];
        }
        var prefix = $"{Names.AliasPrefix(lab)}mirror/";
        IReadOnlyList<HostLink> links;
        try
        {
            links = await x.Net.ListLinksAsync(ns, ct);
        }
        catch (HostNetworkException)
        {
            return []; // removed while it was read
        }
        return links.Where(l => l.Alias?.StartsWith(prefix, StringComparison.Ordinal) == true)
            .Select(l => (l.Name, Parts: l.Alias![prefix.Length..].Split('/', 2)))
            .Where(p => p.Parts.Length == 2)
            .Select(p => new MirrorStatus(p.Name, p.Parts[0], p.Parts[1]))
            .OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Whether an interface in a node's namespace is a mirror's source end (left out of the node's interfaces).</summary>
    public static bool IsSourceEnd(string lab, HostLink link) =>
        link.Alias?.StartsWith($"{Names.AliasPrefix(lab)}mirror/", StringComparison.Ordinal) == true;
}
