using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Links.Backends;

/// <summary>
/// Backend LinuxBridge: a Linux bridge per link with the two host-side veths as ports. A Linux bridge never forwards
/// 01:80:c2:00:00:01 (pause) and 01:80:c2:00:00:02 (LACP), nor :00 (STP) while it runs STP, and group_fwd_mask cannot
/// unlock bits 0-2; so a tc ingress filter on each port redirects every 01:80:c2:00:00:0x frame straight to the other
/// port (u32 on the Ethernet header, mirred egress redirect). Everything else crosses the bridge as usual.
/// </summary>
public sealed class LinuxBridgeLink : ILinkWiring
{
    public static readonly LinuxBridgeLink Instance = new();

    public void Create(LinkPlan link, LinkContext ctx, WiringBatch batch)
    {
        var bridge = Names.LinuxBridge(ctx.Lab, link);
        batch.HostIp.Add($"link add {bridge} mtu {link.Mtu} type bridge stp_state 0 mcast_snooping 0 ageing_time 30000");
        batch.HostIp.Add($"link set {bridge} alias {Names.Alias(ctx.Lab, link)} up");
        var (a, b) = BridgedEnds.Create(link, ctx, batch, bridge);
        // Docker loads br_netfilter and sets FORWARD to DROP: bridged IP traffic would be dropped by the host firewall.
        batch.FirewallAllow.Add((bridge, Names.Alias(ctx.Lab, link)));
        foreach (var (from, to) in new[] { (a, b), (b, a) })
        {
            batch.HostTc.Add($"qdisc add dev {from} ingress");
            batch.HostTc.Add($"filter add dev {from} parent ffff: protocol all prio 1 u32 " +
                             $"match u16 0x0180 0xffff at -14 match u32 0xc2000000 0xfffffff0 at -12 action mirred egress redirect dev {to}");
        }
    }

    public void Remove(LinkPlan link, LinkContext ctx, WiringBatch batch)
    {
        BridgedEnds.Remove(link, ctx, batch);
        batch.HostIp.Add($"link del {Names.LinuxBridge(ctx.Lab, link)}");
        batch.FirewallRemove.Add(Names.Alias(ctx.Lab, link));
    }

    public void SetState(LinkPlan link, LinkContext ctx, bool up, WiringBatch batch) => BridgedEnds.SetState(link, ctx, up, batch);
}
