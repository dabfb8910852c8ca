using Ltb.Topology.Catalog;
using Ltb.Topology.Validation;

namespace Ltb.Topology.Tests.Catalog;

public sealed class NodeTypeCatalogTests
{
    private static readonly NodeTypeCatalog Catalog = NodeTypeCatalog.BuiltIn;

    [Theory]
    [InlineData("linux")]
    [InlineData("frr")]
    [InlineData("generic_vm")]
    [InlineData("nokia_srlinux")]
    [InlineData("arista_ceos")]
    [InlineData("juniper_crpd")]
    [InlineData("cisco_xrd")]
    [InlineData("sonic-vs")]
    [InlineData("nokia_sros")]
    [InlineData("juniper_vmx")]
    [InlineData("cisco_xrv9k")]
    public void Built_in_types_are_present(string name) => Assert.Equal(name, Catalog.Find(name)!.Name);

    [Theory]
    [InlineData("srl", "nokia_srlinux")]
    [InlineData("ceos", "arista_ceos")]
    [InlineData("crpd", "juniper_crpd")]
    [InlineData("xrd", "cisco_xrd")]
    [InlineData("vr-sros", "nokia_sros")]
    public void Containerlab_aliases_find_the_type(string alias, string name) => Assert.Equal(name, Catalog.Find(alias)!.Name);

    [Theory]
    [InlineData("nokia_srlinux", "e1-1", "e1-1")]
    [InlineData("nokia_srlinux", "ethernet-1/1", "e1-1")]
    [InlineData("nokia_srlinux", "ethernet-1/3/2", "e1-3-2")]
    [InlineData("arista_ceos", "eth1", "eth1")]
    [InlineData("arista_ceos", "Ethernet12", "eth12")]
    [InlineData("arista_ceos", "et3", "eth3")]
    [InlineData("juniper_crpd", "eth2", "eth2")]
    [InlineData("cisco_xrd", "Gi0-0-0-0", "Gi0-0-0-0")]
    [InlineData("cisco_xrd", "GigabitEthernet0/0/0/1", "Gi0-0-0-1")]
    [InlineData("sonic-vs", "eth1", "eth1")]
    [InlineData("juniper_vmx", "ge-0/0/0", "eth1")]
    [InlineData("juniper_vmx", "eth3", "eth3")]
    [InlineData("cisco_xrv9k", "Gi0/0/0/2", "eth3")]
    [InlineData("cisco_csr1000v", "GigabitEthernet2", "eth1")]
    [InlineData("cisco_n9kv", "Ethernet1/5", "eth5")]
    [InlineData("nokia_srsim", "1/1/c1/1", "e1-1-c1-1")]
    [InlineData("nokia_sros", "1/1/3", "eth3")]
    [InlineData("f5_bigip-ve", "1.1", "eth1")]
    [InlineData("ciena_saos", "1", "eth1")]
    [InlineData("fortinet_fortigate", "port2", "eth1")]
    [InlineData("linux", "my_if-0.10", "my_if-0.10")]
    [InlineData("frr", "eth1", "eth1")]
    public void Interface_names_map_to_linux_names(string type, string written, string linux) =>
        Assert.Equal(linux, Catalog.Find(type)!.Interfaces.ToLinuxName(written));

    [Theory]
    [InlineData("nokia_srlinux", "eth1")]
    [InlineData("arista_ceos", "Ethernet1/1/1")]
    [InlineData("cisco_xrd", "eth1")]
    [InlineData("linux", "an-interface-name-too-long")]
    [InlineData("linux", "bad/name")]
    [InlineData("cisco_csr1000v", "Gi0")]
    public void Invalid_interface_names_do_not_map(string type, string written) =>
        Assert.Null(Catalog.Find(type)!.Interfaces.ToLinuxName(written));

    [Fact]
    public void Frr_lists_explicit_capabilities_forwarding_and_where_config_goes()
    {
        var frr = Catalog.Find("frr")!;
        Assert.Equal(["NET_ADMIN", "NET_RAW"], frr.Capabilities); // no SYS_ADMIN: images/frr/capshim.c
        Assert.Equal((1.0, 256L << 20), (frr.Cpu, frr.MemoryBytes));
        Assert.Equal("1", frr.Sysctls["net.ipv4.ip_forward"]);
        Assert.Equal("1", frr.Sysctls["net.ipv6.conf.all.forwarding"]);
        Assert.Equal(new ConfigMethod(ConfigInjection.Bind, "/etc/frr/frr.conf"), frr.Config);
        Assert.Equal(NodeRuntime.Container, frr.Runtime);
        Assert.Equal(ConsoleType.Shell, frr.Console);
        Assert.NotNull(frr.Ready?.Command);
        Assert.Equal("vtysh -c 'write memory'", frr.SaveConfigCommand);
        Assert.Equal("vtysh -c 'show running-config'", frr.ShowConfigCommand);
        Assert.Equal("eth0", frr.Interfaces.Management);
    }

    [Fact]
    public void Vm_kinds_run_as_vms_and_generic_vm_takes_cloud_init()
    {
        Assert.Equal(NodeRuntime.Vm, Catalog.Find("juniper_vmx")!.Runtime);
        var vm = Catalog.Find("generic_vm")!;
        Assert.Equal(NodeRuntime.Vm, vm.Runtime);
        Assert.Equal(ConfigInjection.CloudInit, vm.Config.Injection);
        Assert.Equal(ConsoleType.Serial, vm.Console);
    }

    [Fact]
    public void Srlinux_manages_through_mgmt0_and_has_credentials()
    {
        var srl = Catalog.Find("nokia_srlinux")!;
        Assert.Equal("mgmt0", srl.Interfaces.Management);
        Assert.Equal("admin", srl.Credentials!.Username);
        Assert.Equal(4L << 30, srl.MemoryBytes);
    }

    [Theory]
    [InlineData("frr", "frr.frr.frr")]
    [InlineData("ceos", "arista.eos.eos")]
    [InlineData("srl", "nokia.srlinux.srlinux")]
    [InlineData("xrd", "cisco.iosxr.iosxr")]
    [InlineData("crpd", "junipernetworks.junos.junos")]
    [InlineData("juniper_vmx", "junipernetworks.junos.junos")]
    [InlineData("linux", null)]
    public void Ansible_network_os_comes_from_the_type(string kind, string? networkOs) =>
        Assert.Equal(networkOs, Catalog.Find(kind)!.AnsibleNetworkOs);

    [Theory]
    [InlineData("frr", "ansible.netcommon.network_cli")]
    [InlineData("ceos", "ansible.netcommon.network_cli")]
    [InlineData("srl", "ansible.netcommon.httpapi")]
    [InlineData("linux", "ssh")]
    [InlineData("sshhost", "ssh")]
    public void Ansible_connection_is_network_cli_for_a_network_os_ssh_for_a_host_unless_the_type_says(string kind, string connection) =>
        Assert.Equal(connection, Catalog.Find(kind)!.EffectiveAnsibleConnection);

    [Fact]
    public void Sshhost_is_reached_over_ssh_with_the_images_root_login_and_a_console_port_is_read()
    {
        var host = Catalog.Find("sshhost")!;
        Assert.Equal(ConsoleType.Ssh, host.Console);
        Assert.Equal(new Credentials("root", "ltb"), host.Credentials);
        Assert.Equal("ltb/sshhost:latest", host.Image);
        Assert.Null(host.ConsolePort);

        var diagnostics = new DiagnosticBag();
        var serial = NodeTypeReader.Read("""
            name: vr-box
            interfaces: { management: eth0, patterns: [{ name: "eth*" }] }
            console: telnet
            console-port: 5000
            ansible-connection: ansible.netcommon.netconf
            """, "t.yaml", diagnostics);
        Assert.False(diagnostics.HasErrors, string.Join("; ", diagnostics.ToSortedList()));
        Assert.Equal(5000, serial!.ConsolePort);
        Assert.Equal("ansible.netcommon.netconf", serial.EffectiveAnsibleConnection);
        NodeTypeReader.Read("""
            name: bad
            interfaces: { patterns: [{ name: "eth*" }] }
            console-port: 70000
            """, "bad.yaml", diagnostics);
        Assert.Contains(diagnostics.ToSortedList(), d => d.Message.Contains("console-port", StringComparison.Ordinal));
    }

    [Fact]
    public void A_vm_type_says_how_exec_reaches_it_and_a_bad_user_or_method_is_refused()
    {
        Assert.Equal(new GuestExec(GuestExecMethod.Ssh, "root", 22), Catalog.Find("ltb_debian")!.Exec);
        Assert.Null(Catalog.Find("ltb_tinyvm")!.Exec);

        var diagnostics = new DiagnosticBag();
        var ssh = NodeTypeReader.Read("""
            name: vm-box
            runtime: vm
            interfaces: { management: eth0, patterns: [{ name: "eth*" }] }
            exec: { method: ssh, user: admin, port: 2222 }
            """, "t.yaml", diagnostics);
        Assert.False(diagnostics.HasErrors, string.Join("; ", diagnostics.ToSortedList()));
        Assert.Equal(new GuestExec(GuestExecMethod.Ssh, "admin", 2222), ssh!.Exec);
        NodeTypeReader.Read("""
            name: bad
            runtime: vm
            interfaces: { management: eth0, patterns: [{ name: "eth*" }] }
            exec: { method: ssh, user: "root; reboot" }
            """, "bad.yaml", diagnostics);
        Assert.Contains(diagnostics.ToSortedList(), d => d.Message.Contains("'exec.user' must be a Unix user name", StringComparison.Ordinal));
    }

    [Fact]
    public void A_vm_type_may_have_a_vnc_display_and_a_container_type_may_not()
    {
        Assert.Equal(DisplayType.None, Catalog.Find("ltb_tinyvm")!.Display);
        var diagnostics = new DiagnosticBag();
        var vnc = NodeTypeReader.Read("""
            name: vm-screen
            runtime: vm
            interfaces: { management: eth0, patterns: [{ name: "eth*" }] }
            display: vnc
            """, "t.yaml", diagnostics);
        Assert.False(diagnostics.HasErrors, string.Join("; ", diagnostics.ToSortedList()));
        Assert.Equal(DisplayType.Vnc, vnc!.Display);
        NodeTypeReader.Read("""
            name: box
            interfaces: { management: eth0, patterns: [{ name: "eth*" }] }
            display: vnc
            """, "bad.yaml", diagnostics);
        NodeTypeReader.Read("""
            name: vm-spice
            runtime: vm
            interfaces: { management: eth0, patterns: [{ name: "eth*" }] }
            display: spice
            """, "bad2.yaml", diagnostics);
        var messages = diagnostics.ToSortedList().Select(d => d.Message).ToList();
        Assert.Contains("node type 'box': 'display' is for VM types (runtime: vm); remove it", messages);
        Assert.Contains("'display' must be one of none, vnc, not 'spice'", messages);
    }

    [Fact]
    public void A_vm_type_may_ask_snapshots_to_power_it_off_and_a_container_type_may_not()
    {
        Assert.Equal(SnapshotGuest.Pause, Catalog.Find("ltb_tinyvm")!.SnapshotGuest);
        var diagnostics = new DiagnosticBag();
        var off = NodeTypeReader.Read("""
            name: vm-off
            runtime: vm
            interfaces: { management: eth0, patterns: [{ name: "eth*" }] }
            snapshot-guest: poweroff
            """, "t.yaml", diagnostics);
        Assert.False(diagnostics.HasErrors, string.Join("; ", diagnostics.ToSortedList()));
        Assert.Equal(SnapshotGuest.PowerOff, off!.SnapshotGuest);
        NodeTypeReader.Read("""
            name: box
            interfaces: { management: eth0, patterns: [{ name: "eth*" }] }
            snapshot-guest: pause
            """, "bad.yaml", diagnostics);
        NodeTypeReader.Read("""
            name: vm-hibernate
            runtime: vm
            interfaces: { management: eth0, patterns: [{ name: "eth*" }] }
            snapshot-guest: hibernate
            """, "bad2.yaml", diagnostics);
        var messages = diagnostics.ToSortedList().Select(d => d.Message).ToList();
        Assert.Contains("node type 'box': 'snapshot-guest' is for VM types (runtime: vm); remove it", messages);
        Assert.Contains("'snapshot-guest' must be one of pause, poweroff, not 'hibernate'", messages);
    }

    [Fact]
    public void No_built_in_type_asks_for_privileged_mode_and_names_are_safe()
    {
        foreach (var type in Catalog.Types)
        {
            Assert.True(Names.IsSafe(type.Name), type.Name);
            Assert.DoesNotContain("ALL", type.Capabilities);
        }
    }

    [Fact]
    public void Every_built_in_interface_pattern_maps_to_a_valid_linux_name()
    {
        foreach (var type in Catalog.Types)
        {
            foreach (var pattern in type.Interfaces.Patterns.Where(p => p.Name != InterfacePattern.AnyLinuxName))
            {
                var example = System.Text.RegularExpressions.Regex.Replace(pattern.Name, @"\{[a-z]\}", "2");
                var linux = type.Interfaces.ToLinuxName(example);
                Assert.True(linux is not null && InterfaceNaming.IsValidLinuxName(linux), $"{type.Name}: {example} -> {linux}");
                Assert.NotEqual(type.Interfaces.Management, linux);
            }
        }
    }

    [Fact]
    public void Admins_add_node_types_as_yaml_files()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"ltb-types-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "vyos.yaml"), """
                name: vyos
                vendor: VyOS
                os: VyOS
                versions: ["1.4"]
                image: local/vyos:1.4
                interfaces:
                  management: eth0
                  patterns:
                    - { name: "eth{n}", linux: "eth{n}" }
                capabilities: [NET_ADMIN]
                console: shell
                """);
            var bag = new DiagnosticBag();
            var catalog = Catalog.WithDirectory(dir, bag);
            Assert.False(bag.HasErrors);
            var vyos = catalog.Find("vyos")!;
            Assert.Equal("local/vyos:1.4", vyos.Image);
            Assert.Equal("eth3", vyos.Interfaces.ToLinuxName("eth3"));
            Assert.NotNull(catalog.Find("frr"));
            var result = TopologyLoader.LoadText("name: v\ntopology:\n  nodes:\n    r: {kind: vyos}\n", "/x/t.clab.yml",
                TestOptions.Untrusted with { Catalog = catalog });
            Assert.Equal("local/vyos:1.4", result.ValidLab!.Nodes[0].Image);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void A_retired_type_stays_in_the_catalog_but_a_topology_using_it_gets_a_positioned_error()
    {
        var catalog = Catalog.With([Catalog.Find("frr")! with { Retired = true }]);
        Assert.True(catalog.Find("frr")!.Retired);
        Assert.False(Catalog.Find("frr")!.Retired);
        var result = TopologyLoader.LoadText("name: v\ntopology:\n  nodes:\n    r: {kind: frr}\n    h: {kind: linux, image: a}\n", "/x/t.clab.yml",
            TestOptions.Untrusted with { Catalog = catalog });
        Assert.Equal(
            ["/x/t.clab.yml:4:15: error: node 'r' uses kind 'frr', which was retired from the device catalog by an administrator; choose another kind"],
            result.Diagnostics.Select(d => d.ToString()));
        var ltb = TopologyLoader.LoadText("format: ltb/v1\nname: v\nnodes:\n  r: {device: frr}\n", "/x/t.ltb.yml",
            TestOptions.Untrusted with { Catalog = catalog });
        Assert.Contains("uses device 'frr', which was retired", Assert.Single(ltb.Diagnostics).Message);
    }

    [Fact]
    public void Built_in_types_keep_their_YAML_definition()
    {
        Assert.StartsWith("# Built-in node type.", NodeTypeCatalog.BuiltInDefinition(Catalog.Find("linux")!));
    }

    [Fact]
    public void A_bad_admin_type_file_gets_positioned_errors()
    {
        var bag = new DiagnosticBag();
        Assert.Null(NodeTypeReader.Read("name: x\nruntime: cloud\nimgae: a\ninterfaces:\n  patterns: []\n", "types/x.yaml", bag));
        Assert.Equal(
        [
            "types/x.yaml:2:10: error: 'runtime' must be one of container, vm, bridge, external, not 'cloud'",
            "types/x.yaml:3:1: error: unknown key 'imgae' in a node type; did you mean 'image'?",
        ], bag.ToSortedList().Select(d => d.ToString()));
    }
}
