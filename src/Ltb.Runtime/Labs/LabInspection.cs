using Ltb.Runtime.Links.Types;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using NodeStatus = Ltb.Runtime.Status.NodeStatus;

namespace Ltb.Runtime.Labs;

/// <summary>The lab as the drivers and the host see it now: nodes from every driver, interfaces in the pinned namespaces.</summary>
internal sealed class LabInspection(LabContext x)
{
    public async Task<IReadOnlyList<string>> ListLabsAsync(CancellationToken ct)
    {
        var labs = new List<string>(x.Store.Labs());
        foreach (var d in x.Drivers.All)
        {
            labs.AddRange(await d.ListLabsAsync(ct));
        }
        return labs.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    public async Task<LabStatus> InspectAsync(string labName, CancellationToken ct)
    {
        var record = x.Store.Load(labName);
        var found = new List<NodeStatus>();
        foreach (var d in x.Drivers.All)
        {
            found.AddRange(await d.InspectAsync(labName, ct));
        }
        var networks = await x.Mgmt.ListAsync(labName, ct);
        if (record is null && found.Count == 0 && networks.Count == 0)
        {
            return LabContext.Absent(labName, LinkBackend.Veth);
        }
        var plan = record?.Plan;
        var peers = LabContext.Peers(plan);
        var namespaces = x.Net.ListNamespaces().ToHashSet(StringComparer.Ordinal);
        var nodes = new System.Collections.Concurrent.ConcurrentBag<NodeStatus>();
        await Parallel.ForEachAsync(found, ct, async (n, t) =>
            nodes.Add(n with { Interfaces = await InterfacesAsync(labName, n.Name, namespaces, peers, t) }));
        var byNode = nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        var links = (plan?.Links ?? []).Select(l =>
        {
            bool? Carrier(LinkEndpoint e) => byNode.TryGetValue(e.Node, out var n) ? n.Interfaces.FirstOrDefault(i => i.Name == e.Interface)?.Carrier : null;
            var ends = LinkTypes.NodeEnds(l).Select(Carrier).ToList();
            bool? up = ends.Any(e => e is null) ? null : ends.All(e => e == true);
            return new LinkStatus(l.Key, l.Type, l.A.ToString(), l.B?.ToString(), up);
        }).ToList();
        var state = record?.Phase switch
        {
            LabPhase.Failed => LabState.Failed,
            LabPhase.Deploying => LabState.Deploying,
            _ when nodes.IsEmpty => LabState.Failed,
            _ when nodes.All(n => n.State == NodeState.Running) && (plan is null || nodes.Count == plan.Nodes.Count) => LabState.Running,
            _ when nodes.All(n => n.State != NodeState.Running) => LabState.Stopped,
            _ => LabState.Degraded,
        };
        var subnets = networks.SelectMany(n => n.Subnets).ToList();
        return new LabStatus(labName, state, plan?.LinkBackend ?? LinkBackend.Veth, networks.Count > 0 ? networks[0].Name : null,
            subnets.FirstOrDefault(s => s.Contains('.', StringComparison.Ordinal)), subnets.FirstOrDefault(s => s.Contains(':', StringComparison.Ordinal)),
            nodes.OrderBy(n => n.Name, StringComparer.Ordinal).ToList(), links, record?.Error)
        {
            Mirrors = await new Capture.MirrorInterfaces(x).ListAsync(labName, ct),
        };
    }

    /// <summary>The interfaces in a node's pinned namespace (loopback left out), with their peers from the applied plan.</summary>
    private async Task<IReadOnlyList<InterfaceStatus>> InterfacesAsync(string lab, string node, HashSet<string> namespaces,
        Dictionary<string, string> peers, CancellationToken ct)
    {
        var ns = Names.Netns(lab, node);
        var ifaces = new List<InterfaceStatus>();
        if (!namespaces.Contains(ns))
        {
            return ifaces;
        }
        try
        {
            foreach (var l in await x.Net.ListLinksAsync(ns, ct))
            {
                if (l.Name != "lo" && !Capture.MirrorInterfaces.IsSourceEnd(lab, l))
                {
                    ifaces.Add(new InterfaceStatus(l.Name, l.Mac, l.Mtu, l.AdminUp, l.Carrier, peers.GetValueOrDefault($"{node}:{l.Name}")));
                }
            }
        }
        catch (HostNetworkException)
        {
            // The namespace went away while it was read (a node being removed): no interfaces.
        }
        return ifaces.OrderBy(i => i.Name, StringComparer.Ordinal).ToList();
    }
}
