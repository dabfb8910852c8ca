using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Links;

/// <summary>Link type dummy: a dummy interface in node A. Needs the kernel's dummy module (checked before deploying).</summary>
public sealed class DummyLink : ILinkWiring
{
    public static readonly DummyLink Instance = new();

    public void Create(LinkPlan link, LinkContext ctx, WiringBatch batch)
    {
        if (!batch.KindsNeeded.Contains("dummy"))
        {
            batch.KindsNeeded.Add("dummy");
        }
        var ns = ctx.Netns(link.A.Node);
        batch.InNetns(ns, $"link add {link.A.Interface} mtu {link.Mtu}{LinkWirings.Mac(link.A)} type dummy");
        batch.InNetns(ns, $"link set {link.A.Interface} up");
    }

    public void Remove(LinkPlan link, LinkContext ctx, WiringBatch batch) => batch.InNetns(ctx.Netns(link.A.Node), $"link del {link.A.Interface}");

    public void SetState(LinkPlan link, LinkContext ctx, bool up, WiringBatch batch) =>
        batch.InNetns(ctx.Netns(link.A.Node), $"link set {link.A.Interface} {(up ? "up" : "down")}");
}
