using Ltb.Topology.Model;
using YamlDotNet.RepresentationModel;

namespace Ltb.Topology.Writing;

/// <summary>
/// Writes a resolved <see cref="Lab"/> in either format. Inheritance is flattened (every node carries its values);
/// group names are kept as empty groups so that they survive a round trip. The node keys of the two formats
/// differ only where <see cref="KeyNames"/> says.
/// </summary>
public static class TopologyWriter
{
    private sealed record KeyNames(string Kind, string Variant, string StartupText, string StartupPath, string Ports, bool NestedVars);

    private static readonly KeyNames ContainerlabKeys = new("kind", "type", "startup-config", "startup-config", "ports", NestedVars: true);
    private static readonly KeyNames LtbKeys = new("device", "variant", "config", "config-file", "expose", NestedVars: false);

    /// <summary>YAML text of <paramref name="lab"/>; paths inside <paramref name="outputDirectory"/> are written relative to it.</summary>
    public static string Write(Lab lab, TopologyFormat format, string outputDirectory)
    {
        var keys = format == TopologyFormat.Ltb ? LtbKeys : ContainerlabKeys;
        var root = new YamlMappingNode();
        if (format == TopologyFormat.Ltb)
        {
            root.Put(LtbFormat.LtbParser.FormatKey, LtbFormat.LtbParser.FormatV1);
        }
        root.Put("name", lab.Name);
        if (format == TopologyFormat.Ltb)
        {
            root.Put("description", lab.Description);
        }
        root.Put("prefix", lab.Prefix);
        if (WriteMgmt(lab.Mgmt) is { } mgmt)
        {
            root.Add("mgmt", mgmt);
        }
        var body = format == TopologyFormat.Ltb ? root : new YamlMappingNode();
        var groups = lab.Nodes.Select(n => n.Group).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (groups.Count > 0)
        {
            body.Add("groups", new YamlMappingNode(groups.Select(g => new KeyValuePair<YamlNode, YamlNode>(g, new YamlMappingNode()))));
        }
        var nodes = new YamlMappingNode();
        foreach (var node in lab.Nodes)
        {
            nodes.Add(node.Name, WriteNode(node, keys, format, outputDirectory));
        }
        body.Add("nodes", nodes);
        if (lab.Links.Count > 0)
        {
            body.Add("links", new YamlSequenceNode(lab.Links.Select(WriteLink)));
        }
        if (format == TopologyFormat.Containerlab)
        {
            root.Add("topology", body);
        }
        return YamlOut.Print(root);
    }

    private static YamlMappingNode? WriteMgmt(MgmtNetwork m)
    {
        if (m == new MgmtNetwork())
        {
            return null;
        }
        var map = new YamlMappingNode();
        map.Put("network", m.Network);
        map.Put("ipv4-subnet", m.Ipv4Subnet);
        map.Put("ipv6-subnet", m.Ipv6Subnet);
        map.Put("ipv4-gw", m.Ipv4Gateway);
        map.Put("ipv6-gw", m.Ipv6Gateway);
        map.Put("ipv4-range", m.Ipv4Range);
        map.Put("ipv6-range", m.Ipv6Range);
        map.Put("mtu", m.Mtu);
        map.Put("bridge", m.Bridge);
        map.Put("external-access", m.ExternalAccess is { } ea ? ea ? "true" : "false" : null);
        return map;
    }

    private static YamlMappingNode WriteNode(Node n, KeyNames keys, TopologyFormat format, string dir)
    {
        var map = new YamlMappingNode();
        map.Put(keys.Kind, n.Kind);
        if (format == TopologyFormat.Ltb)
        {
            map.Put("version", n.Version);
        }
        map.Put("group", n.Group);
        map.Put(keys.Variant, n.Variant);
        // Values equal to the node type's defaults are left out: reading the file back restores them.
        var type = n.NodeType;
        map.Put("image", n.Image == type.Image ? null : n.Image);
        if (n.StartupConfig is { Text: { } text })
        {
            // containerlab reads a one-line plain value as a path: inline text is always a block (`|`).
            map.Add(keys.StartupText, YamlOut.Block(text));
        }
        else if (n.StartupConfig is { Path: { } path })
        {
            map.Put(keys.StartupPath, YamlOut.PathFor(path, dir));
        }
        if (format == TopologyFormat.Ltb)
        {
            map.Put("cloud-init", n.CloudInit);
        }
        map.PutList("binds", n.Binds.Select(b => new Bind(YamlOut.PathFor(b.Source, dir), b.Target, b.Mode).ToString()));
        map.PutMap("env", n.Env.Where(e => type.Env.GetValueOrDefault(e.Key) != e.Value));
        map.PutList("exec", n.Exec);
        map.PutList(keys.Ports, n.Ports.Select(p => p.ToString()));
        map.Put("mgmt-ipv4", n.MgmtIpv4);
        map.Put("mgmt-ipv6", n.MgmtIpv6);
        map.PutMap("labels", n.Labels);
        map.Put("cpu", n.Cpu == type.Cpu ? null : n.Cpu);
        map.Put("memory", type.MemoryBytes is { } mb && n.Memory == ByteSize.Format(mb) ? null : n.Memory);
        map.Put("cpu-set", n.CpuSet);
        map.PutList("cap-add", n.CapAdd.Except(type.Capabilities, StringComparer.Ordinal));
        map.PutMap("sysctls", n.Sysctls.Where(e => type.Sysctls.GetValueOrDefault(e.Key) != e.Value));
        map.Put("user", n.User);
        map.Put("entrypoint", n.Entrypoint);
        map.Put("cmd", n.Cmd);
        map.Put("network-mode", n.NetworkMode);
        map.Put("restart-policy", n.RestartPolicy);
        map.PutList("wait-for", n.WaitFor);
        map.PutPlain("stages", n.Stages);
        if (n.Healthcheck is { } h)
        {
            var hc = new YamlMappingNode();
            hc.PutList("test", h.Test);
            hc.Put("start-period", h.StartPeriod);
            hc.Put("interval", h.Interval);
            hc.Put("timeout", h.Timeout);
            hc.Put("retries", h.Retries);
            map.Add("healthcheck", hc);
        }
        if (n.Dns is { } dns)
        {
            var d = new YamlMappingNode();
            d.PutList("servers", dns.Servers);
            d.PutList("search", dns.Search);
            d.PutList("options", dns.Options);
            map.Add("dns", d);
        }
        map.PutList("aliases", n.Aliases);
        map.Put("license", n.License is null ? null : YamlOut.PathFor(n.License, dir));
        if (n.ConfigVars.Count > 0)
        {
            if (keys.NestedVars)
            {
                map.Add("config", new YamlMappingNode { { "vars", YamlOut.Plain(n.ConfigVars) } });
            }
            else
            {
                map.Add("vars", YamlOut.Plain(n.ConfigVars));
            }
        }
        foreach (var (key, value) in n.Unsupported)
        {
            map.Add(key, YamlOut.Plain(value));
        }
        return map;
    }

    private static YamlMappingNode WriteLink(Link link)
    {
        var map = new YamlMappingNode();
        var nodeEnds = link.Endpoints.Where(e => !e.IsSpecial).ToList();
        var special = link.Endpoints.FirstOrDefault(e => e.IsSpecial);
        var plainEnds = nodeEnds.All(e => e.Mac is null && e.Ipv4 is null && e.Ipv6 is null && e.Vars.Count == 0);
        var brief = plainEnds && link.Mode is null && link.Type is LinkType.Veth or LinkType.Host or LinkType.MgmtNet or LinkType.Macvlan;
        if (brief)
        {
            map.Add("endpoints", new YamlSequenceNode(link.Endpoints.Select(e => YamlOut.Scalar($"{e.Node}:{e.Interface}"))));
        }
        else
        {
            map.Put("type", TypeName(link.Type));
            if (link.Type == LinkType.Veth)
            {
                map.Add("endpoints", new YamlSequenceNode(nodeEnds.Select(WriteEndpoint)));
            }
            else if (nodeEnds.Count > 0)
            {
                map.Add("endpoint", WriteEndpoint(nodeEnds[0]));
            }
            map.Put("host-interface", special?.Interface);
            map.Put("mode", link.Mode);
            if (link.Vxlan is { } vx)
            {
                map.Put("remote", vx.Remote);
                map.Put("vni", vx.Vni);
                map.Put("dst-port", vx.UdpPort);
                map.Put("parent-interface", vx.ParentInterface);
            }
        }
        map.Put("mtu", link.Mtu);
        map.PutPlain("vars", link.Vars);
        map.PutMap("labels", link.Labels);
        return map;
    }

    private static YamlMappingNode WriteEndpoint(Endpoint e)
    {
        var map = new YamlMappingNode();
        map.Put("node", e.Node);
        map.Put("interface", e.Interface);
        map.Put("mac", e.Mac);
        map.Put("ipv4", e.Ipv4);
        map.Put("ipv6", e.Ipv6);
        map.PutPlain("vars", e.Vars);
        return map;
    }

    public static string TypeName(LinkType type) => type switch
    {
        LinkType.MgmtNet => "mgmt-net",
        LinkType.VxlanStitch => "vxlan-stitch",
        _ => type.ToString().ToLowerInvariant(),
    };
}
