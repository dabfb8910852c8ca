using Ltb.Server.Api;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;
using TopologyNode = Ltb.Topology.Model.Node;

namespace Ltb.Server.Labs.Spanning;

/// <summary>
/// Node pins: a node labelled <c>ltb.host: NAME</c> (containerlab or LTB format <c>labels:</c>) runs on that host. The
/// placement policy decides the layout (<see cref="Placement.PlacementPolicy"/>); this check runs before it so that what
/// the user got wrong is refused pointing at the node in the file: a pinned host must exist, be visible to the caller, be
/// open to them for labs (the host authorizer's PlaceLabs) and be ready; pins to several hosts need hosts that carry
/// tunnels; and a lab that exists keeps its nodes where they are.
/// </summary>
public static class NodePins
{
    private const string Label = Placement.LabDemand.HostLabel;

    public static async Task<(ProblemHttpResult? Refused, ValidationProblem? Invalid)> CheckAsync(LtbDbContext db,
        IResourceAuthorizer<LabHost> authz, Caller caller, IReadOnlyList<TopologyNode> nodes, Lab? existing, CancellationToken ct)
    {
        var pins = nodes.Where(n => n.Labels.TryGetValue(Label, out var h) && !string.IsNullOrWhiteSpace(h)).ToList();
        var hosts = new Dictionary<string, LabHost>(StringComparer.Ordinal);
        foreach (var node in pins)
        {
            var name = node.Labels[Label];
            if (hosts.ContainsKey(name))
            {
                continue;
            }
            var where = Where(node);
            var host = await authz.Visible(db.LabHosts, caller).FirstOrDefaultAsync(h => h.Name == name, ct);
            if (host is null)
            {
                return (null, Problems.Invalid("topology", $"{where}, but there is no host '{name}' (GET /api/v1/hosts lists them)"));
            }
            if (!authz.Allows(caller, Operation.PlaceLabs, host))
            {
                return (Problems.Forbidden($"{where}: you may not deploy labs on host '{name}'"), null);
            }
            if (host.State != LabHostState.Ready)
            {
                return (null, Problems.Invalid("topology", $"{where}, which is {host.State.ToString().ToLowerInvariant()}, not ready for new labs; pin it to another host"));
            }
            hosts[name] = host;
        }
        if (hosts.Count > 1 && hosts.Values.FirstOrDefault(h => string.IsNullOrEmpty(h.TunnelAddress)) is { } untunnelled)
        {
            var who = string.Join(", ", pins.Where(n => n.Labels[Label] == untunnelled.Name).Select(n => n.Name).Order(StringComparer.Ordinal));
            return (null, Problems.Invalid("topology", untunnelled.IsLocal
                ? $"{Where(pins.First(n => n.Labels[Label] == untunnelled.Name))}: the lab spans hosts, and nodes {who} would run on the local host " +
                  $"'{untunnelled.Name}', which takes no part in labs that span hosts (it has no tunnel address); pin them to remote hosts"
                : $"{Where(pins.First(n => n.Labels[Label] == untunnelled.Name))}: the lab spans hosts, but host '{untunnelled.Name}' (nodes {who}) " +
                  "has not reported a tunnel address; restart its agent (ltb agent --tunnel-address IP)"));
        }
        return (existing is null || existing.State == LabLifecycle.Removed ? null : Moves(existing, pins, hosts), null);
    }

    /// <summary>Positioned like the loader's diagnostics, with the file as uploaded (not the server's folder).</summary>
    private static string Where(TopologyNode node) =>
        $"{Path.GetFileName(node.Span.File)}:{node.Span.Line}:{node.Span.Column}: error: node '{node.Name}' is pinned to host '{node.Labels[Label]}' (label {Label})";

    /// <summary>A lab that exists keeps its nodes where they are, and its hosts: a pin that would move a node is refused.</summary>
    private static ProblemHttpResult? Moves(Lab existing, IEnumerable<TopologyNode> pins, Dictionary<string, LabHost> hosts)
    {
        var layout = LabLayout.Parse(existing.LayoutJson);
        var labHosts = layout?.Hosts ?? [existing.HostId];
        var moved = pins.Where(n =>
        {
            var pinned = hosts[n.Labels[Label]].Id;
            return layout?.NodeHosts.TryGetValue(n.Name, out var at) == true ? at != pinned : !labHosts.Contains(pinned);
        }).Select(n => n.Name).ToList();
        return moved.Count == 0 ? null
            : Problems.Conflict($"lab '{existing.Name}' would change which hosts its nodes run on ({string.Join(", ", moved)}); destroy it first, then deploy it again");
    }
}
