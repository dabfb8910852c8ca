using Ltb.Runtime.Plan;
using TopologyLinkType = Ltb.Topology.Model.LinkType;
using WrittenLink = Ltb.Topology.Model.Link;

namespace Ltb.Runtime.Links.Types;

/// <summary>
/// Link type macvlan: a macvlan child of host interface B created straight into node A (mode from Vars["mode"], default
/// bridge). Several links may share one parent; without a written MTU it takes its parent's (it cannot be larger).
/// </summary>
public sealed class MacvlanLinkType : LinkTypeDefinition, ILinkWiring
{
    public static readonly MacvlanLinkType Instance = new();

    public override LinkType Type => LinkType.Macvlan;
    public override IReadOnlyList<TopologyLinkType> WrittenAs { get; } = [TopologyLinkType.Macvlan];
    public override SecondEnd B => SecondEnd.Host;
    public override int DefaultMtu => LinkPlan.AutoMtu;
    public override bool SharesHostEnd => true;

    /// <summary>containerlab's `mode` key travels as the var the wiring reads.</summary>
    public override LinkPlan? Complete(WrittenLink written, LinkPlan planned, List<string> errors) =>
        written.Mode is { } mode ? planned with { Vars = new Dictionary<string, string>(planned.Vars, StringComparer.Ordinal) { ["mode"] = mode } } : planned;

    public override ILinkWiring Wiring(LinkBackend backend) => this;

    public void Create(LinkPlan link, LinkContext ctx, WiringBatch batch)
    {
        var mode = link.Vars.TryGetValue("mode", out var m) && m is "bridge" or "vepa" or "private" or "passthru" ? m : "bridge";
        var mtu = link.Mtu == LinkPlan.AutoMtu ? "" : $" mtu {link.Mtu}"; // none written: the parent's
        batch.HostIp.Add($"link add {link.A.Interface} link {link.B!.Interface} netns {ctx.Netns(link.A.Node)}{mtu}{LinkContext.Mac(link.A)} type macvlan mode {mode}");
        batch.InNetns(ctx.Netns(link.A.Node), $"link set {link.A.Interface} up");
    }

    public void Remove(LinkPlan link, LinkContext ctx, WiringBatch batch) => batch.InNetns(ctx.Netns(link.A.Node), $"link del {link.A.Interface}");

    public void SetState(LinkPlan link, LinkContext ctx, bool up, WiringBatch batch) =>
        batch.InNetns(ctx.Netns(link.A.Node), $"link set {link.A.Interface} {(up ? "up" : "down")}");
}
