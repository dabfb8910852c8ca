using Ltb.Topology.Catalog;
using Ltb.Topology.Model;
using Ltb.Topology.Spec;
using Ltb.Topology.Validation;

namespace Ltb.Topology.Resolution;

/// <summary>
/// Turns a written link into a typed <see cref="Link"/>: decides its type (brief endpoints `host:`, `mgmt-net:`,
/// `macvlan:` make one-sided links), checks that endpoints name defined nodes and interfaces the node's type
/// accepts, and maps each interface to its Linux name.
/// </summary>
internal sealed class LinkResolver(IReadOnlyDictionary<string, Node> nodes, Policy.TenantRules tenant, DiagnosticBag diagnostics)
{
    public Link? Resolve(LinkSpec spec)
    {
        var where = $"link {spec.Number}";
        LinkType type;
        var endpoints = new List<Endpoint>();
        if (spec.Type is { } written)
        {
            type = Parse(written.Value);
            tenant.LinkType(type, written.Value, written.Span, where);
            foreach (var e in spec.Endpoints)
            {
                endpoints.Add(NodeEndpoint(e, where) ?? Placeholder(e));
            }
            switch (type)
            {
                case LinkType.Host or LinkType.MgmtNet or LinkType.Macvlan:
                    if (spec.HostInterface is not { } hostInterface)
                    {
                        diagnostics.Error(spec.Span, $"a {written.Value} link ({where}) needs 'host-interface'");
                        return null;
                    }
                    endpoints.Add(Special(type, hostInterface.Value, hostInterface.Span, where));
                    if (type == LinkType.Macvlan && spec.Mode is { } mode && mode is not ("bridge" or "vepa" or "private" or "passthru"))
                    {
                        diagnostics.Error(spec.Span, $"'mode' of {where} is '{mode}'; a macvlan link's mode is bridge (the default), vepa, private or passthru");
                    }
                    break;
                case LinkType.Vxlan or LinkType.VxlanStitch:
                    if (spec.Remote is null || spec.Vni is null)
                    {
                        diagnostics.Error(spec.Span, $"a {written.Value} link ({where}) needs 'remote' (the other host's address) and 'vni'");
                        return null;
                    }
                    if (!System.Net.IPAddress.TryParse(spec.Remote.Value.Value, out _))
                    {
                        diagnostics.Error(spec.Remote.Value.Span, $"'remote' of {where} must be an IP address, not '{spec.Remote.Value.Value}'");
                    }
                    break;
            }
        }
        else
        {
            // Brief form: a special name on one side makes the link one-sided.
            var special = spec.Endpoints.FirstOrDefault(e => e.Node is Endpoint.HostNode or Endpoint.MgmtNetNode or Endpoint.MacvlanNode);
            type = special?.Node switch
            {
                Endpoint.HostNode => LinkType.Host,
                Endpoint.MgmtNetNode => LinkType.MgmtNet,
                Endpoint.MacvlanNode => LinkType.Macvlan,
                _ => LinkType.Veth,
            };
            tenant.LinkType(type, special?.Node ?? "veth", special?.Span ?? spec.Span, where);
            foreach (var e in spec.Endpoints)
            {
                endpoints.Add(e == special
                    ? Special(type, e.Interface, e.Span, where)
                    : NodeEndpoint(e, where) ?? Placeholder(e));
            }
        }
        return new Link
        {
            Type = type,
            Endpoints = endpoints,
            Mtu = spec.Mtu,
            Vars = spec.Vars ?? [],
            Labels = spec.Labels?.ToDictionary(l => l.Key.Value, l => l.Value.Value, StringComparer.Ordinal) ?? [],
            Mode = spec.Mode,
            Vxlan = spec.Remote is { } remote && spec.Vni is { } vni ? new VxlanSettings(remote.Value, vni, spec.UdpPort, spec.ParentInterface) : null,
            Span = spec.Span,
            Number = spec.Number,
        };
    }

    private static LinkType Parse(string type) => type switch
    {
        "host" => LinkType.Host,
        "mgmt-net" => LinkType.MgmtNet,
        "macvlan" => LinkType.Macvlan,
        "vxlan" => LinkType.Vxlan,
        "vxlan-stitch" => LinkType.VxlanStitch,
        "dummy" => LinkType.Dummy,
        _ => LinkType.Veth,
    };

    /// <summary>Keeps an endpoint that failed its checks, so later checks (duplicate interfaces) still see it.</summary>
    private static Endpoint Placeholder(EndpointSpec e) =>
        new() { Node = e.Node, Interface = e.Interface, LinuxInterface = e.Interface, Span = e.Span };

    private Endpoint Special(LinkType type, string hostInterface, SourceSpan span, string where)
    {
        if (!InterfaceNaming.IsValidLinuxName(hostInterface))
        {
            diagnostics.Error(span, $"host interface '{hostInterface}' of {where} is not a valid Linux interface name; use 1 to 15 letters, digits, '-', '_' or '.'");
        }
        var node = type switch
        {
            LinkType.Host => Endpoint.HostNode,
            LinkType.MgmtNet => Endpoint.MgmtNetNode,
            _ => Endpoint.MacvlanNode,
        };
        return new Endpoint { Node = node, Interface = hostInterface, LinuxInterface = hostInterface, Span = span };
    }

    private Endpoint? NodeEndpoint(EndpointSpec e, string where)
    {
        if (!nodes.TryGetValue(e.Node, out var node))
        {
            diagnostics.Error(e.Span, $"node '{e.Node}' in {where} is not defined; defined nodes: {NodeResolver.List(nodes.Keys)}");
            return null;
        }
        var naming = node.NodeType.Interfaces;
        var linux = naming.ToLinuxName(e.Interface);
        if (linux is null)
        {
            var tooLong = e.Interface.Length > InterfaceNaming.MaxLinuxNameLength
                ? $" (Linux interface names have at most {InterfaceNaming.MaxLinuxNameLength} characters)"
                : "";
            diagnostics.Error(e.Span, $"interface '{e.Interface}' of node '{e.Node}' in {where} is not valid for kind '{node.Kind}'{tooLong}; use {naming.Describe()}");
            return null;
        }
        if (naming.Management.Length > 0 && linux == naming.Management && node.NodeType.Runtime != NodeRuntime.External)
        {
            diagnostics.Error(e.Span, $"interface '{e.Interface}' of node '{e.Node}' in {where} is its management interface; data links use the other interfaces");
            return null;
        }
        if (e.Mac is { } mac && !System.Net.NetworkInformation.PhysicalAddress.TryParse(mac, out _))
        {
            diagnostics.Error(e.Span, $"mac '{mac}' of endpoint {e.Node}:{e.Interface} in {where} is not a MAC address; write it as 02:00:00:00:00:01");
        }
        CheckAddress(e.Ipv4, System.Net.Sockets.AddressFamily.InterNetwork, e, where, "ipv4", "192.168.0.1/24");
        CheckAddress(e.Ipv6, System.Net.Sockets.AddressFamily.InterNetworkV6, e, where, "ipv6", "2001:db8::1/64");
        return new Endpoint
        {
            Node = e.Node,
            Interface = e.Interface,
            LinuxInterface = linux,
            Mac = e.Mac,
            Ipv4 = e.Ipv4,
            Ipv6 = e.Ipv6,
            Vars = e.Vars ?? [],
            Span = e.Span,
        };
    }

    private void CheckAddress(string? value, System.Net.Sockets.AddressFamily family, EndpointSpec e, string where, string key, string example)
    {
        if (value is null)
        {
            return;
        }
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        var ok = slash > 0
            && System.Net.IPAddress.TryParse(value[..slash], out var address) && address.AddressFamily == family
            && int.TryParse(value[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var prefix)
            && prefix >= 0 && prefix <= (family == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
        if (!ok)
        {
            diagnostics.Error(e.Span, $"{key} '{value}' of endpoint {e.Node}:{e.Interface} in {where} must be an address with prefix length, e.g. {example}");
        }
    }
}
