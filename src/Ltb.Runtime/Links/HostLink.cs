using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Links;

/// <summary>Link type host: a veth pair from the node into the host's namespace, host side named by endpoint B.</summary>
public sealed class HostLink : ILinkWiring
{
    public static readonly HostLink Instance = new();

    public void Create(LinkPlan link, LinkContext ctx, WiringBatch batch) => CreateToHost(link, ctx, batch, master: null);

    internal static void CreateToHost(LinkPlan link, LinkContext ctx, WiringBatch batch, string? master)
    {
        var (a, b) = (link.A, link.B!);
        batch.HostIp.Add($"link add {b.Interface} mtu {link.Mtu}{LinkWirings.Mac(b)} type veth peer name {a.Interface} netns {ctx.Netns(a.Node)} mtu {link.Mtu}{LinkWirings.Mac(a)}");
        batch.HostIp.Add($"link set {b.Interface}{(master is null ? "" : $" master {master}")} alias {Names.Alias(ctx.Lab, link)} up");
        batch.InNetns(ctx.Netns(a.Node), $"link set {a.Interface} up");
    }

    public void Remove(LinkPlan link, LinkContext ctx, WiringBatch batch) => batch.HostIp.Add($"link del {link.B!.Interface}");

    public void SetState(LinkPlan link, LinkContext ctx, bool up, WiringBatch batch) =>
        batch.HostIp.Add($"link set {link.B!.Interface} {(up ? "up" : "down")}");
}
