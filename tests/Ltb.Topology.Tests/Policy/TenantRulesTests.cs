using Ltb.Topology.Model;
using Ltb.Topology.Policy;

namespace Ltb.Topology.Tests.Policy;

/// <summary>
/// The tenant policy at validation time (issue #10): every setting that reaches the lab host is refused to a
/// non-admin at the position where it is written, naming the node or link, the setting and value, and that it needs
/// an administrator; an administrator's (trusted) load accepts all of it.
/// </summary>
public sealed class TenantRulesTests
{
    private const string Everything = """
            name: t
            mgmt:
              network: custom
              bridge: br-host
              external-access: true
            topology:
              kinds:
                linux:
                  cap-add: [SYS_PTRACE]
              nodes:
                r1:
                  kind: frr
                  image: evil.example/x:1
                  cap-add: [NET_ADMIN, cap_sys_module]
                  ports: ["8080:80"]
                  devices: [/dev/kvm]
                  binds: [/etc/passwd:/x:ro]
                r2:
                  kind: linux
                  image: ltb/tiny
                  network-mode: container:elsewhere
                r3:
                  kind: linux
                  image: ltb/tiny
                  network-mode: host
              links:
                - endpoints: ["r1:eth1", "host:veth-r1"]
                - endpoints: ["r2:eth1", "macvlan:eth0"]
                - endpoints: ["r1:eth2", "mgmt-net:r1-eth2"]
                - type: vxlan
                  endpoint: {node: r1, interface: eth3}
                  remote: 192.0.2.1
                  vni: 100
                - type: vxlan-stitch
                  endpoint: {node: r1, interface: eth4}
                  remote: 192.0.2.1
                  vni: 101
                - type: dummy
                  endpoint: {node: r2, interface: eth2}
                - type: macvlan
                  endpoint: {node: r2, interface: eth3}
                  host-interface: eth0
                - type: host
                  endpoint: {node: r2, interface: eth4}
                  host-interface: r2-eth4
                - type: mgmt-net
                  endpoint: {node: r2, interface: eth5}
                  host-interface: r2-eth5
            """;

    private static readonly string Allowed = string.Join(", ", TenantPolicy.DefaultCapabilities.Order(StringComparer.Ordinal));

    /// <summary>The default policy plus SYS_ADMIN, for tests about other settings of `linux` nodes (whose type still grants it).</summary>
    private static readonly TenantPolicy LinuxKindAllowed = TenantPolicy.Default with
    {
        Capabilities = new HashSet<string>(TenantPolicy.DefaultCapabilities.Append("SYS_ADMIN"), StringComparer.Ordinal),
    };

    [Fact]
    public void Every_setting_that_reaches_the_host_is_refused_to_a_non_admin_where_it_is_written()
    {
        using var t = new TempTopology(Everything);
        var errors = t.LoadAs(TenantPolicy.Default).Errors().Select(d => d.ToString().Replace(t.Path + ":", "", StringComparison.Ordinal));
        const string Link = "needs an administrator (it touches the lab host's interfaces or reaches other machines)";
        Assert.Equal(
        [
            "3:12: error: 'mgmt.network: custom' needs an administrator (a named network may be one outside the lab); leave it out and LTB gives the lab its own",
            "4:11: error: 'mgmt.bridge' needs an administrator (it names a bridge of the lab host); leave it out and LTB gives the lab its own",
            "5:20: error: 'mgmt.external-access: true' needs an administrator (it opens the lab host's firewall); leave it out",
            $"9:17: error: node 'r2': capability SYS_PTRACE needs an administrator; allowed: {Allowed}",
            $"9:17: error: node 'r3': capability SYS_PTRACE needs an administrator; allowed: {Allowed}",
            "13:14: error: node 'r1': image 'evil.example/x:1' needs an administrator; use a device catalog image, an image on the lab hosts",
            $"14:28: error: node 'r1': capability SYS_MODULE needs an administrator; allowed: {Allowed}",
            "15:15: error: node 'r1': port '8080:80' needs an administrator (publishing ports on the lab host is not allowed to non-administrators)",
            "16:16: error: node 'r1': 'devices' needs an administrator (it reaches the lab host)",
            "17:15: error: bind source '/etc/passwd' of node 'r1' is a host path, which needs an administrator; use a file in the topology's folder (its path relative to the topology file)",
            "20:14: error: node 'r2': image 'ltb/tiny' needs an administrator; use a device catalog image, an image on the lab hosts",
            "21:21: error: node 'r2': network-mode 'container:elsewhere' names 'elsewhere', which is not a node of this lab; sharing the network of a container outside the lab needs an administrator; defined nodes: r1, r2, r3",
            "24:14: error: node 'r3': image 'ltb/tiny' needs an administrator; use a device catalog image, an image on the lab hosts",
            "25:21: error: node 'r3': network-mode 'host' needs an administrator; use none or container:NODE with a node of this lab",
            $"27:30: error: link 1: a host link {Link}",
            $"28:30: error: link 2: a macvlan link {Link}",
            $"29:30: error: link 3: a mgmt-net link {Link}",
            $"30:13: error: link 4: a vxlan link {Link}",
            $"34:13: error: link 5: a vxlan-stitch link {Link}",
            $"38:13: error: link 6: a dummy link {Link}",
            $"40:13: error: link 7: a macvlan link {Link}",
            $"43:13: error: link 8: a host link {Link}",
            $"46:13: error: link 9: a mgmt-net link {Link}",
        ], errors);
    }

    [Fact]
    public void An_administrator_may_use_all_of_it()
    {
        using var t = new TempTopology(Everything);
        var result = t.Load(trusted: true);
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        var r1 = result.Lab!.Nodes.Single(n => n.Name == "r1");
        Assert.Contains("cap_sys_module", r1.CapAdd);
        Assert.Equal([new PortMapping(null, 8080, 80, "tcp")], r1.Ports);
        Assert.Equal("container:elsewhere", result.Lab.Nodes.Single(n => n.Name == "r2").NetworkMode);
    }

    [Fact]
    public void Ports_inside_the_policy_range_on_its_address_are_allowed_and_bound_to_that_address()
    {
        using var t = new TempTopology("""
            name: p
            topology:
              nodes:
                a:
                  image: ltb/tiny
                  ports: ["30005:80", "127.0.0.1:30006:81/udp", "30011:82", "0.0.0.0:30007:83"]
            """);
        var policy = LinuxKindAllowed with { Ports = new PortPolicy { Allowed = true, First = 30000, Last = 30010, Address = "127.0.0.1" } };
        var result = t.LoadAs(policy, new HashSet<string> { "ltb/tiny:latest" });
        Assert.Equal(
        [
            $"{t.Path}:6:53: error: node 'a': host port 30011 of port '30011:82' needs an administrator; allowed: 30000-30010",
            $"{t.Path}:6:65: error: node 'a': host address 0.0.0.0 of port '0.0.0.0:30007:83' needs an administrator; allowed: 127.0.0.1 (or leave the address out)",
        ], result.Errors().Select(d => d.ToString()));
        Assert.Equal(
        [
            new PortMapping("127.0.0.1", 30005, 80, "tcp"), new PortMapping("127.0.0.1", 30006, 81, "udp"),
            new PortMapping("127.0.0.1", 30011, 82, "tcp"), new PortMapping("0.0.0.0", 30007, 83, "tcp"),
        ], result.Lab!.Nodes[0].Ports);
    }

    [Fact]
    public void Images_from_the_catalog_the_policy_or_the_lab_hosts_are_allowed()
    {
        using var t = new TempTopology("""
            name: i
            topology:
              nodes:
                catalog: {kind: linux, image: "quay.io/frrouting/frr:9.1"}
                school: {kind: linux, image: "registry.school.example/labs/pc:2"}
                exact: {kind: linux, image: "alpine:3.20"}
                local: {kind: linux, image: ltb/tiny}
                other: {kind: linux, image: "docker.io/someone/miner:1"}
            """);
        var policy = LinuxKindAllowed with { Images = ["registry.school.example/*", "alpine:3.20"] };
        var result = t.LoadAs(policy, new HashSet<string> { "ltb/tiny:latest" });
        Assert.Equal(
            $"{t.Path}:8:33: error: node 'other': image 'docker.io/someone/miner:1' needs an administrator; use a device catalog image, an image on the lab hosts or one of: registry.school.example/*, alpine:3.20",
            Assert.Single(result.Errors()).ToString());
    }

    [Fact]
    public void Capabilities_are_compared_by_their_canonical_name_and_the_policy_can_widen_them()
    {
        using var t = new TempTopology("""
            name: c
            topology:
              nodes:
                a: {kind: linux, image: ltb/tiny, cap-add: [cap_net_admin, Net_Raw, SYS_TIME]}
            """);
        var local = new HashSet<string> { "ltb/tiny:latest" };
        Assert.Equal($"{t.Path}:4:73: error: node 'a': capability SYS_TIME needs an administrator; allowed: {string.Join(", ", LinuxKindAllowed.Capabilities.Order(StringComparer.Ordinal))}",
            Assert.Single(t.LoadAs(LinuxKindAllowed, local).Errors()).ToString());
        var wider = LinuxKindAllowed with { Capabilities = new HashSet<string>(LinuxKindAllowed.Capabilities.Append("SYS_TIME"), StringComparer.Ordinal) };
        Assert.Empty(t.LoadAs(wider, local).Errors());
    }

    [Fact]
    public void Network_mode_none_and_another_node_of_the_lab_are_allowed()
    {
        using var t = new TempTopology("""
            name: n
            mgmt: {network: clab, external-access: false}
            topology:
              nodes:
                a: {kind: linux, image: ltb/tiny, network-mode: none}
                b: {kind: linux, image: ltb/tiny, network-mode: "container:a"}
                c: {kind: linux, image: ltb/tiny, network-mode: "container:c"}
            """);
        var result = t.LoadAs(LinuxKindAllowed, new HashSet<string> { "ltb/tiny:latest" });
        Assert.Equal($"{t.Path}:7:53: error: node 'c': network-mode 'container:c' names the node itself; name another node of the lab",
            Assert.Single(result.Errors()).ToString());
    }

    [Fact]
    public void A_container_network_mode_naming_no_node_of_the_lab_is_allowed_to_an_administrator_only()
    {
        using var t = new TempTopology("name: n\ntopology:\n  nodes:\n    a: {image: alpine, network-mode: \"container:dns\"}\n");
        Assert.False(t.Load(trusted: true).HasErrors);
        Assert.Contains(t.Load().Errors(), d => d.Message.StartsWith("node 'a': network-mode 'container:dns' names 'dns', which is not a node of this lab", StringComparison.Ordinal));
    }
}
