using System.Text.Json;
using Ltb.Runtime.Network;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Links;

/// <summary>
/// Link type vxlan: node A's interface is a vxlan device to <see cref="VxlanPlan.Remote"/>. It is created by the host's
/// <c>ip -batch</c> with <c>netns NODE</c>, so it appears in the node under its interface name while its UDP socket stays
/// in the namespace it was created in (the kernel keeps the creating namespace as the device's underlay): the node sees
/// a plain Ethernet interface, the host carries the encapsulated frames. It goes away with the node's namespace.
/// </summary>
public sealed class VxlanLink : ILinkWiring
{
    public static readonly VxlanLink Instance = new();

    public void Create(LinkPlan link, LinkContext ctx, WiringBatch batch)
    {
        var vx = link.Vxlan ?? throw new InvalidOperationException($"link {link} has no VXLAN settings");
        // AutoMtu left (the underlay was not resolved): the kernel derives it from the parent the same way.
        var mtu = link.Mtu == LinkPlan.AutoMtu ? "" : $" mtu {link.Mtu}";
        var local = vx.Local is null ? "" : $" local {vx.Local}";
        var parent = vx.Parent is null ? "" : $" dev {vx.Parent}";
        batch.HostIp.Add($"link add {link.A.Interface} netns {ctx.Netns(link.A.Node)}{mtu}{LinkWirings.Mac(link.A)} type vxlan id {vx.Vni} remote {vx.Remote}{local} dstport {vx.Port}{parent}");
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
