using Ltb.Runtime.Links.Types;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Planning;

/// <summary>One host's part of a lab that spans hosts, and what was left out of it.</summary>
/// <param name="Plans">Per host (as named in the node assignment): its nodes, the links between them, and one VXLAN link per cross-host link end.</param>
/// <param name="Warnings">Ordering that cannot hold across hosts (a node waiting for a node on another host), dropped.</param>
/// <param name="Errors">Why the lab cannot be split this way (each names the node or link).</param>
public sealed record SplitResult(IReadOnlyDictionary<string, LabPlan> Plans, IReadOnlyList<string> Warnings, IReadOnlyList<string> Errors)
{
    public bool Succeeded => Errors.Count == 0;
}

/// <summary>
/// Splits a lab plan over hosts. Each host runs its nodes and the links between them as a single-host lab of the same
/// name would; a link whose type spans hosts (<see cref="LinkTypeDefinition.SpansHosts"/>: node to node) and whose ends
/// are on different hosts becomes a <see cref="TunnelType"/> link on each side (same VNI, remote =
/// the other host's tunnel address), so that the two interfaces behave like the two ends of one cable. One-sided links
/// (host, mgmt-net, macvlan, dummy, vxlan) stay with their node.
/// <para>Management network: every host creates its own part (same subnet when the topology writes one): nodes on
/// different hosts are on different bridges and do not reach each other over management addresses.</para>
/// <para>Ordering: a node's <see cref="NodePlan.WaitFor"/> on a node of another host is dropped with a warning (hosts
/// deploy in parallel); stages keep ordering nodes within each host. A node sharing another node's network namespace
/// (network-mode container:X) must be on X's host.</para>
/// </summary>
public static class PlanSplitter
{
    /// <summary>The type of the two halves a cross-host link becomes (what the spanning agent joins back in a lab's status).</summary>
    public const LinkType TunnelType = LinkType.Vxlan;

    /// <param name="nodeHosts">Node -> host, for every node of the plan.</param>
    /// <param name="tunnelAddresses">Host -> the address other hosts send its VXLAN traffic to.</param>
    /// <param name="vnis">Link key (<see cref="LinkPlan.Key"/>) -> VNI, for every link whose ends are on different hosts.</param>
    public static SplitResult Split(LabPlan plan, IReadOnlyDictionary<string, string> nodeHosts,
        IReadOnlyDictionary<string, string> tunnelAddresses, IReadOnlyDictionary<string, int> vnis)
    {
        var errors = new List<string>();
        var warnings = new List<string>();
        foreach (var n in plan.Nodes.Where(n => !nodeHosts.ContainsKey(n.Name)))
        {
            errors.Add($"node '{n.Name}' is not assigned to a host");
        }
        if (errors.Count > 0)
        {
            return new SplitResult(new Dictionary<string, LabPlan>(), warnings, errors);
        }

        var nodes = new Dictionary<string, List<NodePlan>>(StringComparer.Ordinal);
        var links = new Dictionary<string, List<LinkPlan>>(StringComparer.Ordinal);
        foreach (var host in plan.Nodes.Select(n => nodeHosts[n.Name]).Distinct())
        {
            nodes[host] = [];
            links[host] = [];
        }
        foreach (var node in plan.Nodes)
        {
            var host = nodeHosts[node.Name];
            if (node.NetworkMode is { } mode && mode.StartsWith("container:", StringComparison.Ordinal)
                && nodeHosts.TryGetValue(mode["container:".Length..], out var sharedHost) && sharedHost != host)
            {
                errors.Add($"node '{node.Name}' shares the network of node '{mode["container:".Length..]}' (network-mode: {mode}), " +
                    $"so both must be on one host, not on '{host}' and '{sharedHost}'; pin them to the same host");
            }
            var remoteWaits = node.WaitFor.Where(w => nodeHosts.TryGetValue(w, out var h) && h != host).ToList();
            foreach (var w in remoteWaits)
            {
                warnings.Add($"node '{node.Name}' waits for node '{w}', which runs on another host; hosts deploy in parallel, so that wait is dropped");
            }
            nodes[host].Add(remoteWaits.Count == 0 ? node : node with { WaitFor = [.. node.WaitFor.Except(remoteWaits)] });
        }
        foreach (var link in plan.Links)
        {
            var hostA = nodeHosts[link.A.Node];
            if (!LinkTypes.Of(link).SpansHosts || link.B is null || nodeHosts[link.B.Node] == hostA)
            {
                links[hostA].Add(link);
                continue;
            }
            var hostB = nodeHosts[link.B.Node];
            if (!vnis.TryGetValue(link.Key, out var vni))
            {
                errors.Add($"link {link} crosses hosts '{hostA}' and '{hostB}' but has no VNI");
                continue;
            }
            if (!tunnelAddresses.TryGetValue(hostA, out var addressA) || !tunnelAddresses.TryGetValue(hostB, out var addressB))
            {
                var missing = tunnelAddresses.ContainsKey(hostA) ? hostB : hostA;
                errors.Add($"link {link} crosses hosts, but host '{missing}' has no tunnel address; its agent reports one (ltb agent --tunnel-address)");
                continue;
            }
            links[hostA].Add(Tunnel(link, link.A, new VxlanPlan(addressB, vni)));
            links[hostB].Add(Tunnel(link, link.B, new VxlanPlan(addressA, vni)));
        }
        var plans = nodes.ToDictionary(h => h.Key, h => plan with { Nodes = h.Value, Links = links[h.Key] }, StringComparer.Ordinal);
        return new SplitResult(plans, warnings, errors);
    }

    /// <summary>
    /// One end of a cross-host link. The default node-to-node MTU (9500) does not fit a tunnel over a usual 1500-byte
    /// underlay, so it becomes the underlay's MTU minus the VXLAN overhead; a written MTU is kept as written (the
    /// underlay must then carry it).
    /// </summary>
    private static LinkPlan Tunnel(LinkPlan link, LinkEndpoint end, VxlanPlan vxlan) => new()
    {
        Type = TunnelType,
        A = end,
        Mtu = link.Mtu == LinkPlan.DefaultMtu ? LinkPlan.AutoMtu : link.Mtu,
        Vars = link.Vars,
        Vxlan = vxlan,
    };
}
