using System.Security.Cryptography;
using System.Text;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Nodes;

/// <summary>How LTB names and labels what it creates, so that state can be rebuilt from the engine and the host.</summary>
public static class Names
{
    public const string LabLabel = "org.ltb.lab";
    public const string NodeLabel = "org.ltb.node";
    public const string NodeHashLabel = "org.ltb.node-hash";
    public const string ImageLabel = "org.ltb.image-name";
    /// <summary>The node's management addresses as LTB allocated them (inspect reads them back without Docker's network settings).</summary>
    public const string MgmtIpv4Label = "org.ltb.mgmt-ipv4";
    public const string MgmtIpv6Label = "org.ltb.mgmt-ipv6";

    /// <summary>The management interface LTB wires into a node.</summary>
    public const string MgmtInterface = "eth0";

    public static string Container(string lab, string node) => $"ltb-{lab}-{node}";

    /// <summary>The node (or container) whose network a network-mode <c>container:X</c> shares; null for other modes.</summary>
    public static string? SharedNetworkNode(string? networkMode) =>
        networkMode is { } m && m.StartsWith("container:", StringComparison.Ordinal) && m.Length > "container:".Length
            ? m["container:".Length..] : null;

    /// <summary>The name under /run/netns that pins a node's network namespace (it outlives a container restart).</summary>
    public static string Netns(string lab, string node) => $"ltb-{lab}-{node}";

    /// <summary>
    /// The lab's mirror namespace on a host: it holds the lab's mirror interfaces and nothing else (no node can be named
    /// <c>~mirrors</c>, so it never meets a node's namespace; it starts like them, so leftovers checks see it).
    /// </summary>
    public static string MirrorNetns(string lab) => $"ltb-{lab}-~mirrors";

    /// <summary>The alias (ifalias) every host-side interface of a lab carries: <c>ltb/LAB/...</c>.</summary>
    public static string AliasPrefix(string lab) => $"ltb/{lab}/";

    /// <summary>A short stable hash of a lab's link, used for host-side interface and bridge names (at most 15 characters).</summary>
    public static string LinkHash(string lab, LinkPlan link) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(lab + "\n" + link.Key)))[..9];

    /// <summary>Host-side veth of one end of a bridged link: <c>lv&lt;hash&gt;a</c> / <c>...b</c>.</summary>
    public static string HostVeth(string lab, LinkPlan link, char side) => $"lv{LinkHash(lab, link)}{side}";

    public static string LinuxBridge(string lab, LinkPlan link) => $"lb{LinkHash(lab, link)}";

    public static string OvsBridge(string lab, LinkPlan link) => $"lo{LinkHash(lab, link)}";

    public static string Alias(string lab, LinkPlan link) => $"{AliasPrefix(lab)}{LinkHash(lab, link)}";

    private static byte[] NodeDigest(string lab, string node) => SHA256.HashData(Encoding.UTF8.GetBytes(lab + "\nmgmt\n" + node));

    /// <summary>Host-side veth of a node's management interface: <c>le&lt;hash&gt;</c>, a port of the management bridge.</summary>
    public static string MgmtHostVeth(string lab, string node) => $"le{Convert.ToHexStringLower(NodeDigest(lab, node))[..9]}";

    /// <summary>A stable, locally administered unicast MAC for a node's management interface.</summary>
    public static string MgmtMac(string lab, string node) =>
        "02:" + string.Join(':', NodeDigest(lab, node).Take(5).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));

    public static string MgmtAlias(string lab, string node) => $"{AliasPrefix(lab)}mgmt/{node}";

    /// <summary>A hash of a node's definition: a changed hash means the node must be recreated on apply.</summary>
    public static string NodeHash(NodePlan node) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(node, Labs.LabStateStore.Json))))[..16];
}
