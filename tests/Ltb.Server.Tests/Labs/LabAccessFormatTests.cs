using Ltb.Server.Api;
using Ltb.Server.Labs;
using YamlDotNet.RepresentationModel;

namespace Ltb.Server.Tests.Labs;

/// <summary>The ssh-config snippet and the Ansible inventory made from node records, without a lab (LabAccessTests deploys one).</summary>
public sealed class LabAccessFormatTests
{
    private static readonly NodeAccessDto[] Nodes =
    [
        new("sw-1", "sonic-vs", "running", "172.20.0.3", null, [], new("admin", "yes"), ["core"], null),
        new("r1", "frr", "running", null, "fd00::2", [], null, [], "frr.frr.frr"),
        new("gone", "linux", "stopped", null, null, [], null, ["core"], null),
    ];

    [Fact]
    public void Inventory_quotes_values_makes_group_names_valid_and_leaves_out_nodes_without_an_address()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(LabAccess.AnsibleInventory(Nodes)));
        var all = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["all"];
        var hosts = (YamlMappingNode)all["hosts"];
        Assert.Equal(["sw-1", "r1"], hosts.Children.Keys.Select(k => k.ToString()));
        var sw = (YamlMappingNode)hosts["sw-1"];
        // "yes" is a boolean to YAML 1.1 (PyYAML, Ansible's reader) unless quoted.
        Assert.Equal(YamlDotNet.Core.ScalarStyle.DoubleQuoted, ((YamlScalarNode)sw["ansible_password"]).Style);
        Assert.Equal("fd00::2", ((YamlMappingNode)hosts["r1"])["ansible_host"].ToString());
        var children = (YamlMappingNode)all["children"];
        Assert.Equal(["core", "frr", "sonic_vs"], children.Children.Keys.Select(k => k.ToString()));
        Assert.Equal(["sw-1"], ((YamlMappingNode)((YamlMappingNode)children["core"])["hosts"]).Children.Keys.Select(k => k.ToString()));
    }

    [Fact]
    public void Ssh_config_has_a_host_per_addressed_node_with_its_user()
    {
        var text = LabAccess.SshConfig("lab1", Nodes);
        Assert.Contains("Host lab1-sw-1\n  HostName 172.20.0.3\n  User admin\n", text);
        Assert.Contains("Host lab1-r1\n  HostName fd00::2\n  StrictHostKeyChecking no\n", text);
        Assert.DoesNotContain("gone", text);
        Assert.All(text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith(' ')), l => Assert.True(l.StartsWith('#') || l.StartsWith("Host "), l));
    }
}
