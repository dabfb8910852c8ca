using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Ltb.Server.Data;
using Ltb.Topology.Catalog;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ltb.Server.Labs;

/// <summary>
/// A lab's access information (GET /api/v1/labs/{lab}/access, docs/api.md "Access information"): per node its addresses
/// and ports as the host reports them, its node type's credentials, Ansible platform and connection, its topology group; for the lab
/// an ~/.ssh/config snippet and an Ansible inventory made from those same node records, so the three never disagree.
/// </summary>
public static partial class LabAccess
{
    /// <param name="groups">node -> its topology group (<see cref="Lab.NodeGroupsJson"/>).</param>
    /// <param name="hostAddress">node -> the address of the lab host it runs on, for ports bound on every address.</param>
    /// <param name="gateway">Where users reach the SSH gateway; null: it is off.</param>
    public static LabAccessDto Of(Lab lab, LabSnapshot snapshot, IReadOnlyDictionary<string, string> groups, NodeTypeCatalog catalog,
        Func<string, string> hostAddress, SshGatewayAddress? gateway = null)
    {
        var status = snapshot.Nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        // The planned nodes (the host may not report a node that failed to start), then any the host reports besides.
        var kinds = LabViews.Kinds(lab);
        var names = kinds.Keys.Union(status.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var nodes = names.Select(name =>
        {
            var reported = status.GetValueOrDefault(name);
            var kind = kinds.GetValueOrDefault(name) ?? reported?.Kind ?? "";
            var type = catalog.Find(kind);
            var ports = (reported?.Ports ?? []).Select(p => p with { HostIp = Reachable(p.HostIp, () => hostAddress(name)) })
                .Distinct().ToList(); // bound on 0.0.0.0 and :: is one port at the host's address
            return new NodeAccessDto(name, kind, reported?.State ?? "unknown", reported?.MgmtIpv4, reported?.MgmtIpv6, ports,
                type?.Credentials is { } c ? new NodeCredentialsDto(c.Username, c.Password) : null,
                groups.TryGetValue(name, out var group) ? [group] : [], type?.AnsibleNetworkOs,
                ConsoleUrl: ApiConventions.ConsoleSocketPath(lab.Id, name),
                SshCommand: gateway?.Command(lab.Name, name), AnsibleConnection: type?.EffectiveAnsibleConnection ?? "ssh",
                ConsoleTarget: (type?.Console ?? ConsoleType.Shell).ToString().ToLowerInvariant(),
                DisplayUrl: type?.Runtime == NodeRuntime.Vm ? ApiConventions.DisplaySocketPath(lab.Id, name) : null);
        }).ToList();
        return new LabAccessDto(lab.Id, lab.Name, LabViews.State(lab.State), nodes, SshConfig(lab.Name, nodes, gateway), AnsibleInventory(nodes, gateway));
    }

    /// <summary>
    /// Host entries per node. Without the gateway: straight to the management address, which only the lab's host (or a
    /// machine routed to its management networks) reaches. With it: NODE is a shell (and scp, sftp) through the gateway,
    /// for every node; NODE-sshd the node's own SSH server with the gateway as the jump host.
    /// </summary>
    public static string SshConfig(string labName, IReadOnlyList<NodeAccessDto> nodes, SshGatewayAddress? gateway = null)
    {
        var text = new StringBuilder();
        var jump = gateway is null ? null : $"ltb-gateway-{gateway.Host}";
        if (gateway is null)
        {
            text.Append(CultureInfo.InvariantCulture, $"# LTB lab {labName}: ssh {labName}-NODE. The entries reach the management addresses directly\n");
            text.Append("# (from the lab's host): this server runs no SSH gateway.\n");
        }
        else
        {
            text.Append(CultureInfo.InvariantCulture, $"# LTB lab {labName} through the SSH gateway {gateway.Host}:{gateway.Port} (your registered SSH key):\n");
            text.Append(CultureInfo.InvariantCulture, $"#   ssh {labName}-NODE      a shell on NODE (scp and sftp too, where the node has an sftp-server)\n");
            text.Append(CultureInfo.InvariantCulture, $"#   ssh {labName}-NODE-sshd the node's own SSH server, with the gateway as the jump host\n");
            text.Append(CultureInfo.InvariantCulture, $"\nHost {jump}\n  HostName {gateway.Host}\n  Port {gateway.Port}\n  User {gateway.Account}\n");
        }
        foreach (var node in nodes)
        {
            if (gateway is not null)
            {
                text.Append(CultureInfo.InvariantCulture, $"\nHost {labName}-{node.Name}\n  HostName {gateway.Host}\n  Port {gateway.Port}\n");
                text.Append(CultureInfo.InvariantCulture, $"  User {gateway.Account}\n  SetEnv {Ltb.Contracts.SshGatewayConventions.TargetVariable}={labName}/{node.Name}\n");
            }
            if (Address(node) is not { } address)
            {
                continue;
            }
            text.Append(CultureInfo.InvariantCulture, $"\nHost {labName}-{node.Name}{(gateway is null ? "" : "-sshd")}\n  HostName {address}\n");
            if (node.Credentials is { } c)
            {
                text.Append(CultureInfo.InvariantCulture, $"  User {c.Username}\n");
            }
            if (jump is not null)
            {
                text.Append(CultureInfo.InvariantCulture, $"  ProxyJump {jump}\n");
            }
            // A lab's nodes get new host keys at every deployment, and their addresses are reused by other labs.
            text.Append("  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n");
        }
        return text.ToString();
    }

    /// <summary>
    /// Ansible's YAML inventory: every node with a management address under <c>all.hosts</c> with its variables, and a group
    /// per topology group and per kind listing its members (names made valid for Ansible: other characters become '_').
    /// </summary>
    public static string AnsibleInventory(IReadOnlyList<NodeAccessDto> nodes, SshGatewayAddress? gateway = null)
    {
        var reachable = nodes.Where(n => Address(n) is not null).ToList();
        var hosts = new YamlMappingNode();
        foreach (var node in reachable)
        {
            var vars = new YamlMappingNode { { "ansible_host", Quoted(Address(node)!) } };
            if (node.AnsibleConnection is { } connection)
            {
                vars.Add("ansible_connection", Quoted(connection));
            }
            if (node.Credentials is { } c)
            {
                vars.Add("ansible_user", Quoted(c.Username));
                vars.Add("ansible_password", Quoted(c.Password));
            }
            if (node.AnsibleNetworkOs is { } os)
            {
                vars.Add("ansible_network_os", Quoted(os));
            }
            hosts.Add(Quoted(node.Name), vars);
        }
        var children = new YamlMappingNode();
        var members = reachable.SelectMany(n => n.Groups.Append(n.Kind).Where(g => g.Length > 0).Distinct().Select(g => (Group: GroupName(g), n.Name)))
            .GroupBy(m => m.Group, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var group in members)
        {
            var list = new YamlMappingNode();
            foreach (var name in group.Select(m => m.Name).Distinct())
            {
                list.Add(Quoted(name), new YamlMappingNode());
            }
            children.Add(group.Key, new YamlMappingNode { { "hosts", list } });
        }
        var all = new YamlMappingNode { { "hosts", hosts } };
        if (gateway is not null)
        {
            // Through the gateway as the jump host; a ProxyCommand because both the ssh and the network_cli (paramiko)
            // connections honour it.
            all.Add("vars", new YamlMappingNode
            {
                { "ansible_ssh_common_args", Quoted($"-o ProxyCommand=\"ssh -W %h:%p {gateway.Destination}\"") },
            });
        }
        if (children.Children.Count > 0)
        {
            all.Add("children", children);
        }
        var stream = new YamlStream(new YamlDocument(new YamlMappingNode { { "all", all } }));
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString();
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    /// <summary>Ansible warns about group names that are not identifiers (a kind such as sonic-vs).</summary>
    public static string GroupName(string name)
    {
        var valid = NotIdentifier().Replace(name, "_");
        return char.IsAsciiDigit(valid[0]) ? "_" + valid : valid;
    }

    /// <summary>A port bound on every address is reached at the lab host's address.</summary>
    private static string Reachable(string hostIp, Func<string> hostAddress) =>
        hostIp is "" or "0.0.0.0" or "::" or "[::]" ? hostAddress() : hostIp;

    private static string? Address(NodeAccessDto node) => node.MgmtIpv4 ?? node.MgmtIpv6;

    // Double-quoted: PyYAML reads YAML 1.1, where some plain texts are numbers, booleans or dates.
    private static YamlScalarNode Quoted(string text) => new(text) { Style = ScalarStyle.DoubleQuoted };

    [GeneratedRegex("[^A-Za-z0-9_]")]
    private static partial Regex NotIdentifier();
}

/// <summary>Where users reach the SSH gateway, for their commands and ~/.ssh/config.</summary>
public sealed record SshGatewayAddress(string Host, int Port, string Account)
{
    /// <summary>ssh's arguments that reach the gateway: <c>-p PORT ACCOUNT@HOST</c>.</summary>
    public string Destination => $"-p {Port.ToString(CultureInfo.InvariantCulture)} {Account}@{Host}";

    public string Command(string lab, string node) => $"ssh -t {Destination} {lab}/{node}";
}
