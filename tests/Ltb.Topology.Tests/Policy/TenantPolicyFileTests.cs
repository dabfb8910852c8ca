using Ltb.Topology.Policy;

namespace Ltb.Topology.Tests.Policy;

/// <summary>The policy as an admin writes it (YAML or JSON): keys left out keep their defaults, mistakes name the key.</summary>
public sealed class TenantPolicyFileTests
{
    [Fact]
    public void A_yaml_file_sets_what_it_names_and_keeps_the_defaults_of_the_rest()
    {
        var (policy, errors) = TenantPolicyFile.Parse("""
            capabilities: [NET_ADMIN, NET_RAW, cap_sys_time]
            ports: {allowed: true, first: 31000, last: 31099, address: "192.0.2.10"}
            images: ["registry.school.example/*"]
            roleQuotas:
              student: {runningLabs: 2, nodes: 20}
            """, "policy.yaml");
        Assert.Empty(errors);
        Assert.Equal(["NET_ADMIN", "NET_RAW", "SYS_TIME"], policy!.Capabilities.Order(StringComparer.Ordinal));
        Assert.Equal(new PortPolicy { Allowed = true, First = 31000, Last = 31099, Address = "192.0.2.10" }, policy.Ports);
        Assert.Equal(["registry.school.example/*"], policy.Images);
        Assert.Equal(new Quota { RunningLabs = 2, Nodes = 20 }, policy.RoleQuotas["student"]);
        Assert.Equal(new NodeLimits(), policy.NodeDefaults);
        Assert.Equal(TenantPolicy.Default.OutputLimitBytes, policy.OutputLimitBytes);
    }

    [Fact]
    public void Json_round_trips()
    {
        var policy = TenantPolicy.Default with { Images = ["a:1"], Ports = new PortPolicy { Allowed = true } };
        var (back, errors) = TenantPolicyFile.Parse(TenantPolicyFile.ToJson(policy), "policy.json");
        Assert.Empty(errors);
        Assert.Equal(TenantPolicyFile.ToJson(policy), TenantPolicyFile.ToJson(back!));
    }

    [Theory]
    [InlineData("ports: {first: 40000, last: 30000}", "policy.yaml: 'ports': first (40000) and last (30000) must be host ports from 1 to 65535 with first <= last")]
    [InlineData("ports: {address: everywhere}", "policy.yaml: 'ports.address': 'everywhere' is not an IP address (published ports bind to it), e.g. 127.0.0.1")]
    [InlineData("images: [\"a*b\"]", "policy.yaml: 'images': 'a*b' must be an image (repo:tag) or a prefix ending in '*'")]
    [InlineData("capabilities: [\"NET ADMIN\"]", "policy.yaml: 'capabilities': 'NET ADMIN' is not a capability name such as NET_ADMIN")]
    public void Insane_values_are_refused_naming_the_key(string yaml, string expected)
    {
        var (policy, errors) = TenantPolicyFile.Parse(yaml, "policy.yaml");
        Assert.Null(policy);
        Assert.Equal(expected, Assert.Single(errors));
    }

    [Fact]
    public void An_unknown_key_is_refused()
    {
        var (policy, errors) = TenantPolicyFile.Parse("portz: {allowed: true}", "policy.yaml");
        Assert.Null(policy);
        Assert.Contains("portz", Assert.Single(errors), StringComparison.Ordinal);
    }
}
