using Ltb.Topology.Yaml;

namespace Ltb.Topology.Spec;

/// <summary>
/// Reads a link in containerlab's brief form (`endpoints: ["a:eth1", "b:eth1"]`, with `host:`, `mgmt-net:` and
/// `macvlan:` special endpoints) or extended form (`type: veth | host | mgmt-net | macvlan | vxlan | vxlan-stitch |
/// dummy`). Both formats use it; the resolver decides the link type and checks the endpoints.
/// </summary>
public static class LinkReader
{
    public static IReadOnlyList<string> Types { get; } = ["veth", "host", "mgmt-net", "macvlan", "vxlan", "vxlan-stitch", "dummy"];

    private static readonly string[] BriefKeys = ["endpoints", "mtu", "vars", "labels", "ipv4", "ipv6"];
    private static readonly string[] EndpointKeys = ["node", "interface", "mac", "ipv4", "ipv6", "vars"];

    private static readonly Dictionary<string, string[]> ExtendedKeys = new(StringComparer.Ordinal)
    {
        ["veth"] = ["type", "endpoints", "mtu", "vars", "labels"],
        ["host"] = ["type", "endpoint", "host-interface", "mtu", "vars", "labels"],
        ["mgmt-net"] = ["type", "endpoint", "host-interface", "mtu", "vars", "labels"],
        ["macvlan"] = ["type", "endpoint", "host-interface", "mode", "mtu", "vars", "labels"],
        ["vxlan"] = ["type", "endpoint", "remote", "vni", "dst-port", "parent-interface", "mtu", "vars", "labels"],
        ["vxlan-stitch"] = ["type", "endpoint", "remote", "vni", "dst-port", "parent-interface", "mtu", "vars", "labels"],
        ["dummy"] = ["type", "endpoint", "mtu", "vars", "labels"],
    };

    public static LinkSpec? Parse(YNode node, int number, YamlValueReader r)
    {
        var where = $"link {number}";
        if (r.Mapping(node, where) is not { } m)
        {
            return null;
        }
        var link = new LinkSpec(node.Span, number);
        if (m["type"] is { } typeNode)
        {
            link.Type = r.PositionedText(typeNode, $"'type' of {where}");
            if (link.Type is not { } type)
            {
                return null;
            }
            if (!ExtendedKeys.TryGetValue(type.Value, out var keys))
            {
                r.Diagnostics.Error(type.Span, $"unknown link type '{type.Value}' in {where}; known types: {string.Join(", ", Types)}");
                return null;
            }
            r.RejectUnknownKeys(m, $"a {type.Value} link ({where})", keys);
            if (type.Value == "veth")
            {
                ReadEndpointList(m, link, r, where, extended: true);
            }
            else if (m["endpoint"] is { } ep)
            {
                if (ReadEndpoint(ep, r, where, extended: true) is { } e)
                {
                    link.Endpoints.Add(e);
                }
            }
            else
            {
                r.Diagnostics.Error(m.Span, $"a {type.Value} link ({where}) needs 'endpoint' (node and interface)");
            }
            link.HostInterface = m["host-interface"] is { } hi ? r.PositionedText(hi, $"'host-interface' of {where}") : null;
            link.Mode = m["mode"] is { } mode ? r.Text(mode, $"'mode' of {where}") : null;
            link.Remote = m["remote"] is { } remote ? r.PositionedText(remote, $"'remote' of {where}") : null;
            link.Vni = m["vni"] is { } vni ? (int?)r.Integer(vni, $"'vni' of {where}", 1, 16_777_215) : null;
            link.UdpPort = m["dst-port"] is { } port ? (int?)r.Integer(port, $"'dst-port' of {where}", 1, 65535) : null;
            link.ParentInterface = m["parent-interface"] is { } parent ? r.Text(parent, $"'parent-interface' of {where}") : null;
        }
        else
        {
            r.RejectUnknownKeys(m, $"{where} (brief form; add 'type:' for the extended form)", BriefKeys);
            ReadEndpointList(m, link, r, where, extended: false);
            ApplyBriefAddresses(m, link, r, where);
        }
        link.Mtu = m["mtu"] is { } mtu ? (int?)r.Integer(mtu, $"'mtu' of {where}", 68, 65535) : null;
        link.Vars = m["vars"] is { } vars ? r.Plain(vars) as Dictionary<string, object?> : null;
        link.Labels = m["labels"] is { } labels ? r.TextMap(labels, $"'labels' of {where}") : null;
        return link;
    }

    private static void ReadEndpointList(YMapping m, LinkSpec link, YamlValueReader r, string where, bool extended)
    {
        if (m["endpoints"] is not { } node)
        {
            r.Diagnostics.Error(m.Span, $"{where} needs 'endpoints', a list of two endpoints such as [\"r1:eth1\", \"r2:eth1\"]");
            return;
        }
        if (node is not YSequence list)
        {
            r.Diagnostics.Error(node.Span, $"'endpoints' of {where} must be a list of two endpoints, not {node.Describe()}");
            return;
        }
        if (list.Items.Count != 2)
        {
            r.Diagnostics.Error(list.Span, $"'endpoints' of {where} must hold exactly two endpoints, not {list.Items.Count}");
        }
        foreach (var item in list.Items)
        {
            if (ReadEndpoint(item, r, where, extended) is { } e)
            {
                link.Endpoints.Add(e);
            }
        }
    }

    private static EndpointSpec? ReadEndpoint(YNode node, YamlValueReader r, string where, bool extended)
    {
        if (node is YMapping m && extended)
        {
            r.RejectUnknownKeys(m, $"an endpoint of {where}", EndpointKeys);
            var nodeName = m["node"] is { } n ? r.Text(n, $"'node' of an endpoint of {where}") : null;
            var iface = m["interface"] is { } i ? r.Text(i, $"'interface' of an endpoint of {where}") : null;
            if (nodeName is null || iface is null)
            {
                r.Diagnostics.Error(m.Span, $"an endpoint of {where} needs 'node' and 'interface'");
                return null;
            }
            string? Text(string key) => m[key] is { } v ? r.Text(v, $"'{key}' of an endpoint of {where}") : null;
            return new EndpointSpec(nodeName, iface, m.Span)
            {
                Mac = Text("mac"),
                Ipv4 = Text("ipv4"),
                Ipv6 = Text("ipv6"),
                Vars = m["vars"] is { } vars ? r.Plain(vars) as Dictionary<string, object?> : null,
            };
        }
        var text = r.Text(node, $"an endpoint of {where}");
        if (text is null)
        {
            return null;
        }
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1)
        {
            r.Diagnostics.Error(node.Span, $"endpoint '{text}' of {where} must be written NODE:INTERFACE, e.g. \"r1:eth1\"");
            return null;
        }
        return new EndpointSpec(text[..colon], text[(colon + 1)..], node.Span);
    }

    /// <summary>The brief form's `ipv4: [a, b]` / `ipv6: [a, b]` give the addresses of the two endpoints in order.</summary>
    private static void ApplyBriefAddresses(YMapping m, LinkSpec link, YamlValueReader r, string where)
    {
        foreach (var family in new[] { "ipv4", "ipv6" })
        {
            if (m[family] is not { } node || r.TextList(node, $"'{family}' of {where}") is not { } addresses)
            {
                continue;
            }
            if (addresses.Count != link.Endpoints.Count)
            {
                r.Diagnostics.Error(node.Span, $"'{family}' of {where} must give one address per endpoint ({link.Endpoints.Count}), not {addresses.Count}");
                continue;
            }
            for (var i = 0; i < addresses.Count; i++)
            {
                link.Endpoints[i] = family == "ipv4" ? link.Endpoints[i] with { Ipv4 = addresses[i].Value } : link.Endpoints[i] with { Ipv6 = addresses[i].Value };
            }
        }
    }
}
