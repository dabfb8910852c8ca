using Ltb.Runtime.Plan;
using TopologyLinkType = Ltb.Topology.Model.LinkType;

namespace Ltb.Runtime.Links.Types;

/// <summary>Link type mgmt-net: like a host link, with the host side enslaved to the lab's management bridge.</summary>
public sealed class MgmtNetLinkType : LinkTypeDefinition, ILinkWiring
{
    public static readonly MgmtNetLinkType Instance = new();

    public override LinkType Type => LinkType.MgmtNet;
    public override IReadOnlyList<TopologyLinkType> WrittenAs { get; } = [TopologyLinkType.MgmtNet];
    public override SecondEnd B => SecondEnd.Host;

    public override ILinkWiring Wiring(LinkBackend backend) => this;

    public void Create(LinkPlan link, LinkContext ctx, WiringBatch batch) =>
        HostLinkType.CreateToHost(link, ctx, batch, ctx.MgmtBridge ?? throw new InvalidOperationException("the lab has no management bridge"));

    public void Remove(LinkPlan link, LinkContext ctx, WiringBatch batch) => HostLinkType.Instance.Remove(link, ctx, batch);

    public void SetState(LinkPlan link, LinkContext ctx, bool up, WiringBatch batch) => HostLinkType.Instance.SetState(link, ctx, up, batch);
}
