using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Links;

/// <summary>Link type macvlan: a macvlan child of host interface B created straight into node A (mode from Vars["mode"], default bridge).</summary>
public sealed class MacvlanLink : ILinkWiring
{
    public static readonly MacvlanLink Instance = new();

    public void Create(LinkPlan link, LinkContext ctx, WiringBatch batch)
    {
        var mode = link.Vars.TryGetValue("mode", out var m) && m is "bridge" or "vepa" or "private" or "passthru" ? m : "bridge";
        var mtu = link.Mtu == LinkPlan.AutoMtu ? "" : $" mtu {link.Mtu}"; // none written: the parent's
        batch.HostIp.Add($"link add {link.A.Interface} link {link.B!.Interface} netns {ctx.Netns(link.A.Node)}{mtu}{LinkWirings.Mac(link.A)} type macvlan mode {mode}");
        batch.InNetns(ctx.Netns(link.A.Node), $"link set {link.A.Interface} up");
    }

    public void Remove(LinkPlan link, LinkContext ctx, WiringBatch batch) => batch.InNetns(ctx.Netns(link.A.Node), $"link del {link.A.Interface}");

    public void SetState(LinkPlan link, LinkContext ctx, bool up, WiringBatch batch) =>
        batch.InNetns(ctx.Netns(link.A.Node), $"link set {link.A.Interface} {(up ? "up" : "down")}");
}
