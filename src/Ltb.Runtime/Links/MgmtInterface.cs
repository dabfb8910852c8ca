using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes;

namespace Ltb.Runtime.Links;

/// <summary>
/// A node's management interface as LTB wires it (see <see cref="MgmtAttachment.Veth"/>): a veth pair, host end
/// <c>le&lt;hash&gt;</c> enslaved to the management network's bridge (carrying the lab's alias, so destroy finds it), node
/// end <c>eth0</c> with a stable MAC, the network's MTU, the node's addresses and default routes via the gateways.
/// </summary>
public static class MgmtInterface
{
    public static void Create(LinkContext ctx, MgmtState net, string node, MgmtAddresses addresses, WiringBatch batch)
    {
        var host = Names.MgmtHostVeth(ctx.Lab, node);
        batch.HostIp.Add($"link add {host} mtu {net.Mtu} type veth peer name {Names.MgmtInterface} netns {ctx.Netns(node)} mtu {net.Mtu} address {Names.MgmtMac(ctx.Lab, node)}");
        batch.HostIp.Add($"link set {host} master {net.Bridge} alias {Names.MgmtAlias(ctx.Lab, node)} up");
        foreach (var line in Configure(net, addresses))
        {
            batch.InNetns(ctx.Netns(node), line);
        }
    }

    /// <summary>
    /// Brings eth0 up with its addresses and default routes; idempotent (replace), so it also serves after eth0 moved
    /// into a restarted container's new namespace, which drops addresses and routes.
    /// </summary>
    public static IEnumerable<string> Configure(MgmtState net, MgmtAddresses addresses)
    {
        var eth0 = Names.MgmtInterface;
        yield return $"link set {eth0} up";
        if (addresses.Ipv4 is not null && net.Ipv4Gateway is not null)
        {
            yield return $"addr replace {addresses.Ipv4}/{net.Ipv4Prefix()} dev {eth0}";
            yield return $"route replace default via {net.Ipv4Gateway} dev {eth0}";
        }
        if (addresses.Ipv6 is not null && net.Ipv6Gateway is not null)
        {
            // nodad: the address is LTB's to give, and duplicate detection would hold it back for a second or more.
            yield return $"addr replace {addresses.Ipv6}/{net.Ipv6Prefix()} dev {eth0} nodad";
            yield return $"route replace ::/0 via {net.Ipv6Gateway} dev {eth0}";
        }
    }

    /// <summary>Deleting the host end deletes the pair (also when the node's namespace is already gone).</summary>
    public static void Remove(LinkContext ctx, string node, WiringBatch batch) => batch.HostIp.Add($"link del {Names.MgmtHostVeth(ctx.Lab, node)}");
}
