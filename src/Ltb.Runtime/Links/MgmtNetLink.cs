using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Links;

/// <summary>Link type mgmt-net: like a host link, with the host side enslaved to the lab's management bridge.</summary>
public sealed class MgmtNetLink : ILinkWiring
{
    public static readonly MgmtNetLink Instance = new();

    public void Create(LinkPlan link, LinkContext ctx, WiringBatch batch) =>
        HostLink.CreateToHost(link, ctx, batch, ctx.MgmtBridge ?? throw new InvalidOperationException("the lab has no management bridge"));

    public void Remove(LinkPlan link, LinkContext ctx, WiringBatch batch) => HostLink.Instance.Remove(link, ctx, batch);

    public void SetState(LinkPlan link, LinkContext ctx, bool up, WiringBatch batch) => HostLink.Instance.SetState(link, ctx, up, batch);
}
