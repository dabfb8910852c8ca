namespace Ltb.Topology.Tests.Validation;

/// <summary>Each validation rule: its exact message and position.</summary>
public sealed class RuleTests
{
    private const string ThreeNodes = """
        name: rules
        topology:
          nodes:
            r1: {image: alpine}
            r2: {image: alpine}
            r3: {image: alpine}
          links:

        """;

    [Fact]
    public void A_link_endpoint_on_an_undefined_node()
    {
        Assert.Equal("t.clab.yml:10:30: error: node 'r4' in link 3 is not defined; defined nodes: r1, r2, r3",
            Diagnostics.Single(ThreeNodes + """
                    - endpoints: ["r1:eth1", "r2:eth1"]
                    - endpoints: ["r2:eth2", "r3:eth1"]
                    - endpoints: ["r3:eth2", "r4:eth1"]
                """));
    }

    [Fact]
    public void An_interface_used_by_two_links()
    {
        Assert.Equal("t.clab.yml:9:19: error: interface 'eth1' of node 'r1' is already used by link 1; an interface takes one link, use another interface",
            Diagnostics.Single(ThreeNodes + """
                    - endpoints: ["r1:eth1", "r2:eth1"]
                    - endpoints: ["r1:eth1", "r3:eth1"]
                """));
    }

    [Fact]
    public void Two_spellings_of_one_interface_are_the_same_interface()
    {
        Assert.Equal("t.clab.yml:8:29: error: interface 'ethernet-1/1' of node 'srl' is already used by link 1; an interface takes one link, use another interface",
            Diagnostics.Single("""
                name: same
                topology:
                  nodes:
                    srl: {kind: nokia_srlinux}
                    a: {image: alpine}
                  links:
                    - endpoints: ["srl:e1-1", "a:eth1"]
                    - endpoints: ["a:eth2", "srl:ethernet-1/1"]
                """));
    }

    [Fact]
    public void An_interface_name_too_long()
    {
        Assert.Equal("t.clab.yml:8:19: error: interface 'a-very-long-interface' of node 'r1' in link 1 is not valid for kind 'linux' (Linux interface names have at most 15 characters); use any Linux interface name",
            Diagnostics.Single(ThreeNodes + """
                    - endpoints: ["r1:a-very-long-interface", "r2:eth1"]
                """));
    }

    [Fact]
    public void An_interface_name_invalid_for_the_kind()
    {
        Assert.Equal("t.clab.yml:6:19: error: interface 'eth1' of node 'srl' in link 1 is not valid for kind 'nokia_srlinux'; use e{a}-{b}, ethernet-{a}/{b}, e{a}-{b}-{c}, ethernet-{a}/{b}/{c}",
            Diagnostics.Single("name: k\ntopology:\n  nodes:\n    srl: {kind: srl}\n  links:\n    - endpoints: [\"srl:eth1\", \"host:x1\"]\n", trusted: true));
    }

    [Fact]
    public void The_management_interface_cannot_take_a_link()
    {
        Assert.Equal("t.clab.yml:8:19: error: interface 'eth0' of node 'r1' in link 1 is its management interface; data links use the other interfaces",
            Diagnostics.Single(ThreeNodes + """
                    - endpoints: ["r1:eth0", "r2:eth1"]
                """));
    }

    [Fact]
    public void An_unknown_kind_with_a_suggestion()
    {
        Assert.Equal("t.clab.yml:4:16: error: node 'r1' has unknown kind 'nokia_srlinx'; did you mean 'nokia_srlinux'?",
            Diagnostics.Single("name: k\ntopology:\n  nodes:\n    r1: {kind: nokia_srlinx}\n"));
    }

    [Fact]
    public void An_unknown_kind_in_the_kinds_section()
    {
        Assert.Equal("t.clab.yml:4:5: error: 'kinds' configures unknown kind 'nokia_srlinx'; did you mean 'nokia_srlinux'?",
            Diagnostics.Single("name: k\ntopology:\n  kinds:\n    nokia_srlinx: {image: x}\n  nodes:\n    r1: {image: alpine}\n"));
    }

    [Fact]
    public void An_unknown_group()
    {
        Assert.Equal("t.clab.yml:6:17: error: node 'r1' refers to group 'rooters', which is not defined; defined groups: routers",
            Diagnostics.Single("name: g\ntopology:\n  groups:\n    routers: {image: alpine}\n  nodes:\n    r1: {group: rooters, image: alpine}\n"));
    }

    [Theory]
    [InlineData("name: \"lab one\"", "t.clab.yml:1:7: error: lab name 'lab one' must start with a letter or digit and hold only letters, digits, '-', '_' and '.' (at most 63 characters)")]
    [InlineData("name: ../etc", "t.clab.yml:1:7: error: lab name '../etc' must start with a letter or digit and hold only letters, digits, '-', '_' and '.' (at most 63 characters)")]
    public void Lab_names_outside_the_safe_set(string nameLine, string expected) =>
        Assert.Equal(expected, Diagnostics.Single(nameLine + "\ntopology:\n  nodes:\n    r1: {image: alpine}\n"));

    [Fact]
    public void Node_names_outside_the_safe_set()
    {
        Assert.Equal("t.clab.yml:4:5: error: node name 'r1;rm -rf' must start with a letter or digit and hold only letters, digits, '-', '_' and '.' (at most 63 characters)",
            Diagnostics.Single("name: n\ntopology:\n  nodes:\n    r1;rm -rf: {image: alpine}\n"));
    }

    [Fact]
    public void A_wait_for_cycle()
    {
        Assert.Equal("t.clab.yml:4:5: error: wait-for cycle: a -> b -> c -> a; no node of it could ever start, remove one of these wait-for entries",
            Diagnostics.Single("""
                name: w
                topology:
                  nodes:
                    a: {image: alpine, wait-for: [b]}
                    b: {image: alpine, wait-for: [c]}
                    c: {image: alpine, stages: {create: {wait-for: [{node: a, stage: healthy}]}}}
                """));
    }

    [Fact]
    public void Wait_for_an_undefined_node()
    {
        Assert.Equal("t.clab.yml:4:35: error: node 'a' waits for 'zz', which is not defined; defined nodes: a",
            Diagnostics.Single("name: w\ntopology:\n  nodes:\n    a: {image: alpine, wait-for: [zz]}\n"));
    }

    [Fact]
    public void Wait_for_inherited_from_defaults_is_checked_where_it_is_written()
    {
        Assert.Equal("t.clab.yml:3:25: error: node 'a' waits for 'ghost', which is not defined; defined nodes: a",
            Diagnostics.Single("name: w\ntopology:\n  defaults: {wait-for: [ghost]}\n  nodes:\n    a: {image: alpine}\n"));
    }

    [Fact]
    public void A_bind_source_escaping_the_topology_folder_is_refused_unless_trusted()
    {
        using var t = new TempTopology("name: b\ntopology:\n  nodes:\n    a:\n      image: alpine\n      binds:\n        - ../outside:/data\n        - /etc/hosts:/etc/hosts:ro\n");
        Assert.Equal(
        [
            $"{t.Path}:7:11: error: bind source '../outside' of node 'a' escapes the topology's folder, which needs an administrator; use a path inside it (relative to the topology file)",
            $"{t.Path}:8:11: error: bind source '/etc/hosts' of node 'a' is a host path, which needs an administrator; use a file in the topology's folder (its path relative to the topology file)",
        ], t.Load().Diagnostics.Select(d => d.ToString()));
        var trusted = t.Load(trusted: true);
        Assert.False(trusted.HasErrors, string.Join("\n", trusted.Diagnostics));
        Assert.Equal(new Bind("/etc/hosts", "/etc/hosts", "ro"), trusted.Lab!.Nodes[0].Binds[1]);
    }

    [Fact]
    public void A_bind_through_a_symbolic_link_in_the_topology_folder_is_refused_unless_trusted()
    {
        // The path is inside the folder by name, but the link leads out of it: the check looks at each part itself.
        using var t = new TempTopology("name: b\ntopology:\n  nodes:\n    a:\n      image: alpine\n      binds: [data/passwd:/x]\n");
        File.CreateSymbolicLink(Path.Combine(t.Directory, "data"), "/etc");
        Assert.Equal($"{t.Path}:6:15: error: bind source 'data/passwd' of node 'a' goes through the symbolic link 'data'; links in a lab's " +
            "folder are not followed (only administrators may use files outside it): put the file itself there",
            Assert.Single(t.Load().Diagnostics).ToString());
        Assert.False(t.Load(trusted: true).HasErrors);
    }

    [Fact]
    public void A_missing_startup_config_file()
    {
        using var t = new TempTopology("name: s\ntopology:\n  nodes:\n    a:\n      image: alpine\n      startup-config: configs/a.cfg\n");
        Assert.Equal($"{t.Path}:6:23: error: startup-config file 'configs/a.cfg' of node 'a' does not exist (looked for {t.Directory}/configs/a.cfg)",
            Assert.Single(t.Load().Diagnostics).ToString());
    }

    [Fact]
    public void A_missing_bind_source()
    {
        using var t = new TempTopology("name: s\ntopology:\n  nodes:\n    a:\n      image: alpine\n      binds: [gone.conf:/etc/x.conf]\n");
        Assert.Equal($"{t.Path}:6:15: error: bind source 'gone.conf' of node 'a' does not exist (looked for {t.Directory}/gone.conf)",
            Assert.Single(t.Load().Diagnostics).ToString());
    }

    [Fact]
    public void A_missing_file_inherited_by_many_nodes_is_reported_once()
    {
        using var t = new TempTopology("name: s\ntopology:\n  defaults:\n    image: alpine\n    binds: [gone.conf:/etc/x.conf]\n  nodes:\n    a: {}\n    b: {}\n");
        Assert.Equal($"{t.Path}:5:13: error: bind source 'gone.conf' of node 'a' does not exist (looked for {t.Directory}/gone.conf)",
            Assert.Single(t.Load().Diagnostics).ToString());
    }

    [Fact]
    public void Mgmt_addresses_outside_the_subnet_or_duplicated()
    {
        Assert.Equal(
        [
            "t.clab.yml:7:35: error: mgmt-ipv4 '10.0.1.5' of node 'b' is outside the management subnet 10.0.0.0/24; use an address inside it or change 'mgmt.ipv4-subnet'",
            "t.clab.yml:8:35: error: mgmt-ipv4 '10.0.0.2' of node 'c' is already used by node 'a'; management addresses must be unique",
            "t.clab.yml:9:35: error: mgmt-ipv6 '3fff:172:20:21::1' of node 'd' is outside the management subnet 3fff:172:20:20::/64; use an address inside it or change 'mgmt.ipv6-subnet'",
        ], Diagnostics.Of("""
            name: m
            mgmt:
              ipv4-subnet: 10.0.0.0/24
            topology:
              nodes:
                a: {image: alpine, mgmt-ipv4: 10.0.0.2}
                b: {image: alpine, mgmt-ipv4: 10.0.1.5}
                c: {image: alpine, mgmt-ipv4: 10.0.0.2}
                d: {image: alpine, mgmt-ipv6: "3fff:172:20:21::1"}
            """));
    }

    [Fact]
    public void All_errors_come_in_one_pass_sorted_by_position()
    {
        var all = Diagnostics.Of("""
            name: many
            topology:
              nodes:
                a: {kind: nope}
                b: {image: alpine, cpu: lots}
              links:
                - endpoints: ["b:eth1", "zz:eth1"]
            """);
        Assert.Equal(3, all.Count);
        Assert.StartsWith("t.clab.yml:4:", all[0]);
        Assert.StartsWith("t.clab.yml:5:", all[1]);
        Assert.StartsWith("t.clab.yml:7:", all[2]);
    }

    [Fact]
    public void A_node_without_an_image_is_an_error()
    {
        Assert.Equal("t.clab.yml:4:5: error: node 'a' has no image; kind 'linux' has no default image, so give 'image:' on the node, its group, kind or defaults",
            Diagnostics.Single("name: i\ntopology:\n  nodes:\n    a: {}\n"));
    }

    [Fact]
    public void Bad_ports_and_binds_say_what_is_right()
    {
        Assert.Equal(
        [
            "t.clab.yml:4:32: error: port '80' of node 'a' must be [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp|sctp] with ports from 1 to 65535, e.g. 8080:80",
            "t.clab.yml:4:45: error: bind 'x' of node 'a' must be SOURCE:TARGET[:MODE] with an absolute TARGET, e.g. router1/frr.conf:/etc/frr/frr.conf:ro",
        ], Diagnostics.Of("name: p\ntopology:\n  nodes:\n    a: {image: alpine, ports: [80], binds: [x]}\n"));
    }
}
