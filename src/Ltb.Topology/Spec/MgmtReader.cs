using Ltb.Topology.Model;
using Ltb.Topology.Yaml;

namespace Ltb.Topology.Spec;

/// <summary>Reads `mgmt:` (same keys in both formats); unset values take containerlab's defaults.</summary>
public static class MgmtReader
{
    private static readonly string[] Keys =
        ["network", "ipv4-subnet", "ipv6-subnet", "ipv4-gw", "ipv6-gw", "ipv4-range", "ipv6-range", "mtu", "bridge", "external-access"];

    public static MgmtNetwork Parse(YNode node, YamlValueReader r)
    {
        var defaults = new MgmtNetwork();
        if (node is YScalar { IsNull: true } || r.Mapping(node, "'mgmt'") is not { } m)
        {
            return defaults;
        }
        r.RejectUnknownKeys(m, "'mgmt'", Keys);
        string? Text(string key) => m[key] is { } v ? r.Text(v, $"'mgmt.{key}'") : null;
        var network = Text("network");
        if (network is not null && !Names.IsSafe(network))
        {
            r.Diagnostics.Error(m["network"]!.Span, $"management network name '{network}' {Names.SafeRule}");
        }
        var ipv4 = Text("ipv4-subnet");
        var ipv6 = Text("ipv6-subnet");
        CheckSubnet(m, "ipv4-subnet", ipv4, System.Net.Sockets.AddressFamily.InterNetwork, r);
        CheckSubnet(m, "ipv6-subnet", ipv6, System.Net.Sockets.AddressFamily.InterNetworkV6, r);
        return new MgmtNetwork
        {
            Network = network ?? defaults.Network,
            Ipv4Subnet = ipv4 ?? defaults.Ipv4Subnet,
            Ipv6Subnet = ipv6 ?? defaults.Ipv6Subnet,
            Ipv4Gateway = Text("ipv4-gw"),
            Ipv6Gateway = Text("ipv6-gw"),
            Ipv4Range = Text("ipv4-range"),
            Ipv6Range = Text("ipv6-range"),
            Mtu = m["mtu"] is { } mtu ? (int?)r.Integer(mtu, "'mgmt.mtu'", 68, 65535) : null,
            Bridge = Text("bridge"),
            ExternalAccess = m["external-access"] is { } ea ? r.Boolean(ea, "'mgmt.external-access'") : null,
            SubnetWritten = ipv4 is not null || ipv6 is not null,
        };
    }

    private static void CheckSubnet(YMapping m, string key, string? value, System.Net.Sockets.AddressFamily family, YamlValueReader r)
    {
        if (value is null)
        {
            return;
        }
        if (!System.Net.IPNetwork.TryParse(value, out var network) || network.BaseAddress.AddressFamily != family)
        {
            var example = family == System.Net.Sockets.AddressFamily.InterNetwork ? "172.20.20.0/24" : "3fff:172:20:20::/64";
            r.Diagnostics.Error(m[key]!.Span, $"'mgmt.{key}' must be a subnet such as {example} (no host bits set), not '{value}'");
        }
    }
}
