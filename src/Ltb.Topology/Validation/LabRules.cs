using System.Net;
using Ltb.Topology.Model;
using Ltb.Topology.Spec;

namespace Ltb.Topology.Validation;

/// <summary>Checks that need the whole lab: interfaces used twice, wait-for references and cycles, management addresses.</summary>
internal static class LabRules
{
    public static void Check(TopologySpec spec, IReadOnlyDictionary<string, Node> nodes, IReadOnlyList<Link> links,
        IReadOnlyDictionary<string, List<Yaml.Positioned<string>>> waitFor, DiagnosticBag diagnostics)
    {
        InterfacesUsedOnce(links, diagnostics);
        WaitForDefinedAndAcyclic(nodes, waitFor, diagnostics);
        MgmtAddresses(spec, diagnostics);
    }

    private static void InterfacesUsedOnce(IReadOnlyList<Link> links, DiagnosticBag diagnostics)
    {
        var used = new Dictionary<(string Node, string Interface), Link>();
        foreach (var link in links)
        {
            // Several macvlans may share one parent interface.
            foreach (var e in link.Endpoints.Where(e => e.Node != Endpoint.MacvlanNode))
            {
                // Host-side names of mgmt-net/macvlan links live in the host namespace like `host:` ones.
                var key = (e.IsSpecial ? Endpoint.HostNode : e.Node, e.LinuxInterface);
                if (used.TryGetValue(key, out var first) && first != link)
                {
                    var what = e.IsSpecial ? $"host interface '{e.Interface}'" : $"interface '{e.Interface}' of node '{e.Node}'";
                    diagnostics.Error(e.Span, $"{what} is already used by link {first.Number}; an interface takes one link, use another interface");
                }
                else
                {
                    used[key] = link;
                }
            }
        }
    }

    private static void WaitForDefinedAndAcyclic(IReadOnlyDictionary<string, Node> nodes, IReadOnlyDictionary<string, List<Yaml.Positioned<string>>> waitFor, DiagnosticBag diagnostics)
    {
        var edges = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var node in nodes.Values)
        {
            var written = waitFor.GetValueOrDefault(node.Name) ?? [];
            foreach (var w in written.Where(w => !nodes.ContainsKey(w.Value)))
            {
                diagnostics.Error(w.Span, $"node '{node.Name}' waits for '{w.Value}', which is not defined; defined nodes: {Resolution.NodeResolver.List(nodes.Keys)}");
            }
            foreach (var w in written.Where(w => w.Value == node.Name))
            {
                diagnostics.Error(w.Span, $"node '{node.Name}' waits for itself; remove it from its wait-for");
            }
            edges[node.Name] = [.. node.WaitFor.Where(t => t != node.Name && nodes.ContainsKey(t))];
        }
        // Depth-first search for a cycle; report each cycle once, at the first node of it in file order.
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 = on the path, 2 = done
        var path = new List<string>();
        foreach (var start in nodes.Keys)
        {
            Visit(start);
        }

        void Visit(string n)
        {
            if (state.GetValueOrDefault(n) == 2)
            {
                return;
            }
            if (state.GetValueOrDefault(n) == 1)
            {
                var cycle = path.Skip(path.IndexOf(n)).Append(n).ToList();
                diagnostics.Error(nodes[cycle[0]].Span, $"wait-for cycle: {string.Join(" -> ", cycle)}; no node of it could ever start, remove one of these wait-for entries");
                return;
            }
            state[n] = 1;
            path.Add(n);
            foreach (var next in edges.GetValueOrDefault(n) ?? [])
            {
                Visit(next);
            }
            path.RemoveAt(path.Count - 1);
            state[n] = 2;
        }
    }

    private static void MgmtAddresses(TopologySpec spec, DiagnosticBag diagnostics)
    {
        foreach (var (family, subnetText, select) in new (string, string?, Func<NodeSpec, Yaml.Positioned<string>?>)[]
                 {
                     ("ipv4", spec.Mgmt.Ipv4Subnet, n => n.MgmtIpv4),
                     ("ipv6", spec.Mgmt.Ipv6Subnet, n => n.MgmtIpv6),
                 })
        {
            IPNetwork? subnet = subnetText is not null && IPNetwork.TryParse(subnetText, out var parsed) ? parsed : null;
            var seen = new Dictionary<IPAddress, string>();
            foreach (var (name, nodeSpec) in spec.Nodes)
            {
                if (select(nodeSpec) is not { } written)
                {
                    continue;
                }
                var expected = family == "ipv4" ? System.Net.Sockets.AddressFamily.InterNetwork : System.Net.Sockets.AddressFamily.InterNetworkV6;
                if (!IPAddress.TryParse(written.Value, out var address) || address.AddressFamily != expected || written.Value.Contains('/', StringComparison.Ordinal))
                {
                    diagnostics.Error(written.Span, $"mgmt-{family} '{written.Value}' of node '{name.Value}' is not an {family.ToUpperInvariant()} address (write it without prefix length)");
                    continue;
                }
                if (subnet is { } s && !s.Contains(address))
                {
                    diagnostics.Error(written.Span, $"mgmt-{family} '{written.Value}' of node '{name.Value}' is outside the management subnet {subnetText}; use an address inside it or change 'mgmt.{family}-subnet'");
                }
                else if (seen.TryGetValue(address, out var other))
                {
                    diagnostics.Error(written.Span, $"mgmt-{family} '{written.Value}' of node '{name.Value}' is already used by node '{other}'; management addresses must be unique");
                }
                else
                {
                    seen[address] = name.Value;
                }
            }
        }
    }
}
