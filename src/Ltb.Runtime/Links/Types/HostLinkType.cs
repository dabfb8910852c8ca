using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using TopologyLinkType = Ltb.Topology.Model.LinkType;

namespace Ltb.Runtime.Links.Types;

/// <summary>Link type host: a veth pair from the node into the host's namespace, host side named by endpoint B.</summary>
public sealed class HostLinkType : LinkTypeDefinition, ILinkWiring
{
    public static readonly HostLinkType Instance = new();

    public override LinkType Type => LinkType.Host;
    public override IReadOnlyList<TopologyLinkType> WrittenAs { get; } = [TopologyLinkType.Host];
    public override SecondEnd B => SecondEnd.Host;

    public override ILinkWiring Wiring(LinkBackend backend) => this;

    public void Create(LinkPlan link, LinkContext ctx, WiringBatch batch) => CreateToHost(link, ctx, batch, master: null);

    internal static void CreateToHost(LinkPlan link, LinkContext ctx, WiringBatch batch, string? master)
    {
        var (a, b) = (link.A, link.B!);
        batch.HostIp.Add($"link add {b.Interface} mtu {link.Mtu}{LinkContext.Mac(b)} type veth peer name {a.Interface} netns {ctx.Netns(a.Node)} mtu {link.Mtu}{LinkContext.Mac(a)}");
        batch.HostIp.Add($"link set {b.Interface}{(master is null ? "" : $" master {master}")} alias {Names.Alias(ctx.Lab, link)} up");
        batch.InNetns(ctx.Netns(a.Node), $"link set {a.Interface} up");
    }

    public void Remove(LinkPlan link, LinkContext ctx, WiringBatch batch) => batch.HostIp.Add($"link del {link.B!.Interface}");

    public void SetState(LinkPlan link, LinkContext ctx, bool up, WiringBatch batch) =>
        batch.HostIp.Add($"link set {link.B!.Interface} {(up ? "up" : "down")}");
}
