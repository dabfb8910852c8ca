using Ltb.Runtime.Network;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using TopologyLinkType = Ltb.Topology.Model.LinkType;

namespace Ltb.Runtime.Links.Types;

/// <summary>Link type dummy: a dummy interface in node A. Needs the kernel's dummy module (checked before deploying).</summary>
public sealed class DummyLinkType : LinkTypeDefinition, ILinkWiring
{
    public static readonly DummyLinkType Instance = new();

    public override LinkType Type => LinkType.Dummy;
    public override IReadOnlyList<TopologyLinkType> WrittenAs { get; } = [TopologyLinkType.Dummy];
    public override SecondEnd B => SecondEnd.None;

    public override async Task PreflightAsync(LabPlan plan, IReadOnlyList<LinkPlan> links, IHostNetwork net, CancellationToken ct)
    {
        if (!await net.SupportsLinkKindAsync("dummy", ct))
        {
            var l = links[0];
            throw new LabRuntimeException(plan.LabName, l.A.Node,
                $"link {l}: the dummy link type needs the Linux 'dummy' kernel module, which this host's kernel does not provide ('ip link add ... type dummy' fails); load it (modprobe dummy) or use a host whose kernel has it");
        }
    }

    public override ILinkWiring Wiring(LinkBackend backend) => this;

    public void Create(LinkPlan link, LinkContext ctx, WiringBatch batch)
    {
        if (!batch.KindsNeeded.Contains("dummy"))
        {
            batch.KindsNeeded.Add("dummy");
        }
        var ns = ctx.Netns(link.A.Node);
        batch.InNetns(ns, $"link add {link.A.Interface} mtu {link.Mtu}{LinkContext.Mac(link.A)} type dummy");
        batch.InNetns(ns, $"link set {link.A.Interface} up");
    }

    public void Remove(LinkPlan link, LinkContext ctx, WiringBatch batch) => batch.InNetns(ctx.Netns(link.A.Node), $"link del {link.A.Interface}");

    public void SetState(LinkPlan link, LinkContext ctx, bool up, WiringBatch batch) =>
        batch.InNetns(ctx.Netns(link.A.Node), $"link set {link.A.Interface} {(up ? "up" : "down")}");
}
