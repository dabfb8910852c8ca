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

    public static string Container(string lab, string node) => $"ltb-{lab}-{node}";

    /// <summary>The name under /run/netns that pins a node's network namespace (it outlives a container restart).</summary>
    public static string Netns(string lab, string node) => $"ltb-{lab}-{node}";

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

    /// <summary>A hash of a node's definition: a changed hash means the node must be recreated on apply.</summary>
    public static string NodeHash(NodePlan node) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(node, Labs.LabStateStore.Json))))[..16];
}
