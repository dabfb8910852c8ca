using System.Net;
using System.Text.Json;
using Ltb.Runtime.Network;
using Ltb.Runtime.Plan;
using TopologyLinkType = Ltb.Topology.Model.LinkType;
using WrittenLink = Ltb.Topology.Model.Link;

namespace Ltb.Runtime.Links.Types;

/// <summary>
/// Link type vxlan: node A's interface is a vxlan device to <see cref="VxlanPlan.Remote"/>. It is created by the host's
/// <c>ip -batch</c> with <c>netns NODE</c>, so it appears in the node under its interface name while its UDP socket stays
/// in the namespace it was created in (the kernel keeps the creating namespace as the device's underlay): the node sees
/// a plain Ethernet interface, the host carries the encapsulated frames. It goes away with the node's namespace. Its UDP
/// port takes packets from the lab's peer hosts only (<see cref="TunnelFirewall"/>). The splitter's cross-host halves
/// of veth links are links of this type too.
/// </summary>
public sealed class VxlanLinkType : LinkTypeDefinition, ILinkWiring
{
    public static readonly VxlanLinkType Instance = new();

    public override LinkType Type => LinkType.Vxlan;

    /// <summary>
    /// vxlan-stitch (containerlab: a host vxlan device stitched to a veth into the node with tc) gives the node the same
    /// thing: an interface whose frames travel to the remote host. One device is simpler and faster.
    /// </summary>
    public override IReadOnlyList<TopologyLinkType> WrittenAs { get; } = [TopologyLinkType.Vxlan, TopologyLinkType.VxlanStitch];

    public override SecondEnd B => SecondEnd.None;

    /// <summary>Without a written MTU: the underlay's minus the overhead, found on the host (<see cref="ResolveUnderlayAsync"/>).</summary>
    public override int DefaultMtu => LinkPlan.AutoMtu;

    public override LinkPlan? Complete(WrittenLink written, LinkPlan planned, List<string> errors)
    {
        if (written.Vxlan is not { } vx)
        {
            errors.Add($"link {written.Number} ({string.Join(", ", written.Endpoints)}) is a VXLAN link without 'remote' and 'vni'");
            return null;
        }
        // The far end is the remote host, not an end of this lab.
        return planned with { B = null, Vxlan = new VxlanPlan(vx.Remote, vx.Vni, vx.UdpPort ?? VxlanPlan.DefaultPort, null, vx.ParentInterface) };
    }

    public override void Validate(LinkPlan link, List<string> errors)
    {
        if (link.Vxlan is not { } vx)
        {
            errors.Add($"link {link}: a vxlan link needs its remote and VNI");
            return;
        }
        if (!IPAddress.TryParse(vx.Remote, out _))
        {
            errors.Add($"link {link}: the VXLAN remote '{vx.Remote}' is not an IP address");
        }
        if (vx.Local is not null && !IPAddress.TryParse(vx.Local, out _))
        {
            errors.Add($"link {link}: the VXLAN local address '{vx.Local}' is not an IP address");
        }
        if (vx.Vni is < 1 or > VxlanPlan.MaxVni)
        {
            errors.Add($"link {link}: VNI {vx.Vni} is out of range (1-{VxlanPlan.MaxVni})");
        }
        if (vx.Port is < 1 or > 65535)
        {
            errors.Add($"link {link}: UDP port {vx.Port} is out of range");
        }
        if (vx.Parent is not null && !PlanValidator.IsInterfaceName(vx.Parent))
        {
            errors.Add($"link {link}: parent interface name '{vx.Parent}' is not valid");
        }
    }

    /// <summary>
    /// A remote this host cannot reach fails the deploy before any node; before any tunnel exists, its port takes
    /// packets from the peer hosts only.
    /// </summary>
    public override async Task<IReadOnlyList<LinkPlan>> PrepareHostAsync(IHostNetwork net, LabPlan plan, IReadOnlyList<LinkPlan> links, CancellationToken ct)
    {
        var resolved = await ResolveUnderlayAsync(net, links, ct);
        await TunnelFirewall.SyncAsync(net, plan.LabName, PeersOf(plan.Links), ct);
        return resolved;
    }

    public override Task RemovedAsync(IHostNetwork net, LabPlan plan, IReadOnlyList<LinkPlan> removed, CancellationToken ct) =>
        TunnelFirewall.SyncAsync(net, plan.LabName, PeersOf(plan.Links), ct);

    /// <summary>The peers a lab's links need: (remote address, UDP port) of its VXLAN links.</summary>
    private static List<(string Peer, int Port)> PeersOf(IEnumerable<LinkPlan> links) =>
        links.Where(l => l.Type == LinkType.Vxlan && l.Vxlan is not null)
            .Select(l => (Peer: IPAddress.Parse(l.Vxlan!.Remote).ToString(), l.Vxlan.Port)).Distinct().ToList();

    public override ILinkWiring Wiring(LinkBackend backend) => this;

    public void Create(LinkPlan link, LinkContext ctx, WiringBatch batch)
    {
        var vx = link.Vxlan ?? throw new InvalidOperationException($"link {link} has no VXLAN settings");
        // AutoMtu left (the underlay was not resolved): the kernel derives it from the parent the same way.
        var mtu = link.Mtu == LinkPlan.AutoMtu ? "" : $" mtu {link.Mtu}";
        var local = vx.Local is null ? "" : $" local {vx.Local}";
        var parent = vx.Parent is null ? "" : $" dev {vx.Parent}";
        batch.HostIp.Add($"link add {link.A.Interface} netns {ctx.Netns(link.A.Node)}{mtu}{LinkContext.Mac(link.A)} type vxlan id {vx.Vni} remote {vx.Remote}{local} dstport {vx.Port}{parent}");
        batch.InNetns(ctx.Netns(link.A.Node), $"link set {link.A.Interface} up");
    }

    public void Remove(LinkPlan link, LinkContext ctx, WiringBatch batch) => batch.InNetns(ctx.Netns(link.A.Node), $"link del {link.A.Interface}");

    public void SetState(LinkPlan link, LinkContext ctx, bool up, WiringBatch batch) =>
        batch.InNetns(ctx.Netns(link.A.Node), $"link set {link.A.Interface} {(up ? "up" : "down")}");

    /// <summary>
    /// Fills in what a VXLAN link leaves to the host: the underlay interface (the one the route to the remote leaves by)
    /// and, when no MTU was written, the MTU: the underlay's minus <see cref="VxlanPlan.Overhead"/>. Other links pass unchanged.
    /// </summary>
    public static async Task<IReadOnlyList<LinkPlan>> ResolveUnderlayAsync(IHostNetwork net, IReadOnlyList<LinkPlan> links, CancellationToken ct)
    {
        if (!links.Any(l => l.Type == LinkType.Vxlan))
        {
            return links;
        }
        var hostLinks = await net.ListLinksAsync(null, ct);
        var resolved = new List<LinkPlan>(links.Count);
        foreach (var link in links)
        {
            if (link.Type != LinkType.Vxlan || link.Vxlan is not { } vx)
            {
                resolved.Add(link);
                continue;
            }
            var parent = vx.Parent ?? await RouteDeviceAsync(net, link, vx, ct);
            var device = hostLinks.FirstOrDefault(h => h.Name == parent)
                ?? throw new HostNetworkException($"link {link}: the VXLAN underlay interface '{parent}' does not exist on this host");
            resolved.Add(link with
            {
                Vxlan = vx with { Parent = parent },
                Mtu = link.Mtu == LinkPlan.AutoMtu ? device.Mtu - VxlanPlan.Overhead(vx.Remote) : link.Mtu,
            });
        }
        return resolved;
    }

    private static async Task<string> RouteDeviceAsync(IHostNetwork net, LinkPlan link, VxlanPlan vx, CancellationToken ct)
    {
        List<string> args = ["-json", "route", "get", vx.Remote];
        if (vx.Local is not null)
        {
            args.AddRange(["from", vx.Local]);
        }
        var r = await net.RunAsync("ip", args, null, null, ct);
        string? dev = null;
        if (r.Succeeded)
        {
            using var doc = JsonDocument.Parse(r.Stdout);
            dev = doc.RootElement.EnumerateArray().Select(e => e.TryGetProperty("dev", out var d) ? d.GetString() : null).FirstOrDefault(d => d is not null);
        }
        return dev ?? throw new HostNetworkException(
            $"link {link}: this host has no route to the VXLAN remote {vx.Remote}{(vx.Local is null ? "" : $" from {vx.Local}")} ({r.Stderr.Trim()}); " +
            "check the other host's tunnel address and the routing between the hosts");
    }
}
