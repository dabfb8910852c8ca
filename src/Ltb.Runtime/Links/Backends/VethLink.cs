using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Links.Backends;

/// <summary>Backend Veth: one veth pair created straight into both namespaces; nothing remains on the host.</summary>
public sealed class VethLink : ILinkWiring
{
    public static readonly VethLink Instance = new();

    public void Create(LinkPlan link, LinkContext ctx, WiringBatch batch)
    {
        var (a, b) = (link.A, link.B!);
        batch.HostIp.Add($"link add {a.Interface} netns {ctx.Netns(a.Node)} mtu {link.Mtu}{LinkContext.Mac(a)} type veth " +
                         $"peer name {b.Interface} netns {ctx.Netns(b.Node)} mtu {link.Mtu}{LinkContext.Mac(b)}");
        batch.InNetns(ctx.Netns(a.Node), $"link set {a.Interface} up");
        batch.InNetns(ctx.Netns(b.Node), $"link set {b.Interface} up");
    }

    public void Remove(LinkPlan link, LinkContext ctx, WiringBatch batch)
    {
        batch.InNetns(ctx.Netns(link.A.Node), $"link del {link.A.Interface}");
        batch.InNetns(ctx.Netns(link.B!.Node), $"link del {link.B.Interface}");
    }

    /// <summary>A veth has no carrier switch: both ends go administratively down, so both lose carrier.</summary>
    public void SetState(LinkPlan link, LinkContext ctx, bool up, WiringBatch batch)
    {
        batch.InNetns(ctx.Netns(link.A.Node), $"link set {link.A.Interface} {(up ? "up" : "down")}");
        batch.InNetns(ctx.Netns(link.B!.Node), $"link set {link.B.Interface} {(up ? "up" : "down")}");
    }
}
