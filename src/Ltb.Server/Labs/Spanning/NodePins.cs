using Ltb.Server.Api;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using TopologyNode = Ltb.Topology.Model.Node;

namespace Ltb.Server.Labs.Spanning;

/// <summary>Where a lab's nodes run: its host, the layout when it spans hosts (null otherwise), and why.</summary>
/// <param name="Host">Null when placement chose no host (it refused the lab) and no node is pinned.</param>
public sealed record PinnedPlacement(LabHost? Host, LabLayout? Layout, string? Reason);

/// <summary>
/// Node pins: a node labelled <c>ltb.host: NAME</c> (containerlab or LTB format <c>labels:</c>) runs on that host; the
/// other nodes run on the lab's host as placement chose it. Nodes on different hosts make a lab that spans hosts. Every
/// pinned host must be visible to the caller, open to them for labs (the host authorizer's PlaceLabs), ready, and, when
/// the lab spans, have a tunnel address (the in-process local host has none: a spanning lab uses remote hosts only).
/// </summary>
public static class NodePins
{
    public const string Label = "ltb.host";

    public static async Task<(PinnedPlacement? Placed, ProblemHttpResult? Refused, ValidationProblem? Invalid)> PlaceAsync(LtbDbContext db,
        IResourceAuthorizer<LabHost> authz, Caller caller, IReadOnlyList<TopologyNode> nodes, LabHost? chosen, Lab? existing, CancellationToken ct)
    {
        var pins = nodes.Where(n => n.Labels.TryGetValue(Label, out var h) && !string.IsNullOrWhiteSpace(h)).ToList();
        if (pins.Count == 0)
        {
            return Unchanged(existing, new PinnedPlacement(chosen, null, null));
        }
        var hosts = new Dictionary<string, LabHost>(StringComparer.Ordinal);
        foreach (var node in pins)
        {
            var name = node.Labels[Label];
            if (hosts.ContainsKey(name))
            {
                continue;
            }
            // Positioned like the loader's diagnostics, with the file as uploaded (not the server's folder).
            var where = $"{Path.GetFileName(node.Span.File)}:{node.Span.Line}:{node.Span.Column}: error: node '{node.Name}' is pinned to host '{name}' (label {Label})";
            var host = await authz.Visible(db.LabHosts, caller).FirstOrDefaultAsync(h => h.Name == name, ct);
            if (host is null)
            {
                return (null, null, Problems.Invalid("topology", $"{where}, but there is no host '{name}' (GET /api/v1/hosts lists them)"));
            }
            if (!authz.Allows(caller, Operation.PlaceLabs, host))
            {
                return (null, Problems.Forbidden($"{where}: you may not deploy labs on host '{name}'"), null);
            }
            if (host.State != LabHostState.Ready)
            {
                return (null, null, Problems.Invalid("topology", $"{where}, which is {host.State.ToString().ToLowerInvariant()}, not ready for new labs; pin it to another host"));
            }
            hosts[name] = host;
        }
        // Without a chosen host (placement refused the lab), the nodes not pinned are checked as if they followed the first pin.
        var others = chosen ?? hosts[pins[0].Labels[Label]];
        var nodeHosts = nodes.ToDictionary(n => n.Name, n => pins.Contains(n) ? hosts[n.Labels[Label]] : others, StringComparer.Ordinal);
        var used = nodeHosts.Values.DistinctBy(h => h.Id).ToList();
        // The lab's own host (where its tasks queue): the chosen one when it keeps nodes, else the first pinned one.
        var main = used.FirstOrDefault(h => h.Id == others.Id) ?? nodeHosts[nodes[0].Name];
        var reason = $"nodes pinned by label {Label}: {string.Join(", ", pins.Select(n => $"{n.Name} -> {n.Labels[Label]}"))}" +
            (pins.Count < nodes.Count ? $"; the others on {others.Name}" : "");
        if (used.Count == 1)
        {
            return Unchanged(existing, new PinnedPlacement(main, null, reason));
        }
        if (used.FirstOrDefault(h => string.IsNullOrEmpty(h.TunnelAddress)) is { } untunnelled)
        {
            var who = nodeHosts.Where(n => n.Value.Id == untunnelled.Id).Select(n => n.Key).Order(StringComparer.Ordinal).ToList();
            return (null, null, Problems.Invalid("topology", untunnelled.IsLocal
                ? $"the lab spans hosts, and nodes {string.Join(", ", who)} would run on the local host '{untunnelled.Name}', which takes no part in labs " +
                  $"that span hosts (it has no tunnel address); pin them to remote hosts with the label {Label}, or choose a remote host for the lab (host)"
                : $"the lab spans hosts, but host '{untunnelled.Name}' (nodes {string.Join(", ", who)}) has not reported a tunnel address; restart its agent (ltb agent --tunnel-address IP)"));
        }
        return Unchanged(existing, new PinnedPlacement(main, new LabLayout(nodeHosts.ToDictionary(n => n.Key, n => n.Value.Id, StringComparer.Ordinal)), reason));
    }

    /// <summary>A lab that exists keeps its nodes where they are: moving one means destroying the lab first.</summary>
    private static (PinnedPlacement?, ProblemHttpResult?, ValidationProblem?) Unchanged(Lab? existing, PinnedPlacement placed)
    {
        if (existing is null || existing.State == LabLifecycle.Removed || placed.Host is not { } host)
        {
            return (placed, null, null);
        }
        var before = LabLayout.Parse(existing.LayoutJson);
        if (before is null && placed.Layout is null)
        {
            return host.Id == existing.HostId
                ? (placed, null, null)
                : (null, Problems.Conflict($"lab '{existing.Name}' runs on another host than '{host.Name}'; destroy it to move it"), null);
        }
        Guid HostBefore(string node) => before?.NodeHosts.TryGetValue(node, out var h) == true ? h : existing.HostId;
        Guid HostNow(string node) => placed.Layout?.NodeHosts.TryGetValue(node, out var h) == true ? h : host.Id;
        var nodes = (before?.NodeHosts.Keys ?? []).Concat(placed.Layout?.NodeHosts.Keys ?? []).Distinct();
        var hostsBefore = before?.Hosts.ToHashSet() ?? [existing.HostId];
        var hostsNow = placed.Layout?.Hosts.ToHashSet() ?? [host.Id];
        var moved = nodes.Where(n => (before is null || before.NodeHosts.ContainsKey(n)) && (placed.Layout is null || placed.Layout.NodeHosts.ContainsKey(n))
            && HostBefore(n) != HostNow(n)).ToList();
        if (moved.Count > 0 || !hostsBefore.SetEquals(hostsNow))
        {
            return (null, Problems.Conflict($"lab '{existing.Name}' would change which hosts its nodes run on" +
                (moved.Count > 0 ? $" ({string.Join(", ", moved)})" : "") + "; destroy it first, then deploy it again"), null);
        }
        return (placed, null, null);
    }
}
