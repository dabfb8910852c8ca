using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Links.Backends;

/// <summary>
/// The two ends of a bridged node-to-node link: per end a veth pair, node side in the node's namespace under the requested
/// name, host side <c>lv&lt;hash&gt;a|b</c> carrying the lab's alias. Shared by the Linux-bridge and OVS backends.
/// </summary>
internal static class BridgedEnds
{
    public static (string A, string B) Create(LinkPlan link, LinkContext ctx, WiringBatch batch, string? master)
    {
        var alias = Names.Alias(ctx.Lab, link);
        var ports = (Names.HostVeth(ctx.Lab, link, 'a'), Names.HostVeth(ctx.Lab, link, 'b'));
        foreach (var (end, port) in new[] { (link.A, ports.Item1), (link.B!, ports.Item2) })
        {
            batch.HostIp.Add($"link add {port} mtu {link.Mtu} type veth peer name {end.Interface} netns {ctx.Netns(end.Node)} mtu {link.Mtu}{LinkContext.Mac(end)}");
            batch.HostIp.Add($"link set {port}{(master is null ? "" : $" master {master}")} alias {alias} up");
            batch.InNetns(ctx.Netns(end.Node), $"link set {end.Interface} up");
        }
        return ports;
    }

    public static void Remove(LinkPlan link, LinkContext ctx, WiringBatch batch)
    {
        batch.HostIp.Add($"link del {Names.HostVeth(ctx.Lab, link, 'a')}");
        batch.HostIp.Add($"link del {Names.HostVeth(ctx.Lab, link, 'b')}");
    }

    /// <summary>Both host-side ports go down: both nodes lose carrier while their interfaces stay administratively up.</summary>
    public static void SetState(LinkPlan link, LinkContext ctx, bool up, WiringBatch batch)
    {
        batch.HostIp.Add($"link set {Names.HostVeth(ctx.Lab, link, 'a')} {(up ? "up" : "down")}");
        batch.HostIp.Add($"link set {Names.HostVeth(ctx.Lab, link, 'b')} {(up ? "up" : "down")}");
    }
}
