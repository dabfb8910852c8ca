using Ltb.Runtime.Plan;
using Ltb.Runtime.Planning;
using Ltb.Testing;
using Ltb.Topology;
using Ltb.Topology.Catalog;

namespace Ltb.Runtime.Tests.Planning;

/// <summary>The topology model becomes an explicit host plan; what this runtime cannot do is refused by name.</summary>
public sealed class LabPlannerTests
{
    private static PlanningResult PlanText(string yaml, PlanningOptions? options = null)
    {
        var loaded = TopologyLoader.LoadText(yaml, Path.Combine(Path.GetTempPath(), "lab.clab.yml"),
            // Trusted: what the planner refuses is under test here, not the topology's tenant rules.
            new LoadOptions { Trusted = true, Environment = new Dictionary<string, string>() });
        Assert.False(loaded.HasErrors, string.Join("\n", loaded.Diagnostics));
        return LabPlanner.Plan(loaded.Lab!, options);
    }

    [Fact]
    public void Frr01_plans_as_written_in_the_corpus()
    {
        var loaded = TopologyLoader.LoadFile(Path.Combine(Repo.ContainerlabCorpus, "frr01", "frr01.clab.yml"), new LoadOptions { Trusted = true });
        var plan = LabPlanner.Plan(loaded.ValidLab!, new PlanningOptions { LabName = "frr01-x", LinkBackend = LinkBackend.Ovs }).Plan!;

        Assert.Equal("frr01-x", plan.LabName);
        Assert.Equal(LinkBackend.Ovs, plan.LinkBackend);
        Assert.Null(plan.Mgmt.Ipv4Subnet); // not written: the host picks a free subnet per lab
        var router1 = plan.Nodes.Single(n => n.Name == "router1");
        Assert.Equal("quay.io/frrouting/frr:10.5.1", router1.Image);
        Assert.Contains(router1.Binds, b => b.ContainerPath == "/etc/frr/frr.conf" && b.HostPath.EndsWith("frr01/router1/frr.conf", StringComparison.Ordinal));
        Assert.Equal("1", router1.Sysctls["net.ipv4.ip_forward"]);
        Assert.Equal(["NET_ADMIN", "NET_RAW"], router1.CapAdd); // no SYS_ADMIN: LTB's FRR image runs without it
        // Every node gets limits: the linux type's CPU and memory, the policy's pids and log.
        Assert.Equal((0.5, 128L << 20, 512L, 10L << 20), (router1.Cpu, router1.Memory, router1.PidsLimit, router1.LogMaxBytes));
        var pc1 = plan.Nodes.Single(n => n.Name == "PC1");
        Assert.Equal("ip addr add 192.168.11.2/24 dev eth1", pc1.Exec[1].Shell);
        Assert.Equal(6, plan.Links.Count);
        Assert.Contains(plan.Links, l => l.A == new LinkEndpoint("PC1", "eth1") && l.B == new LinkEndpoint("router1", "eth3") && l.Mtu == 9500);
    }

    [Fact]
    public void A_written_subnet_or_a_pinned_address_pins_the_management_network()
    {
        var written = PlanText("""
            name: m
            mgmt: {ipv4-subnet: 10.5.0.0/24}
            topology: {nodes: {a: {kind: linux, image: ltb/tiny:latest}}}
            """).Plan!;
        Assert.Equal("10.5.0.0/24", written.Mgmt.Ipv4Subnet);

        var pinnedAddress = PlanText("""
            name: m
            topology: {nodes: {a: {kind: linux, image: ltb/tiny:latest, mgmt-ipv4: 172.20.20.9}}}
            """).Plan!;
        Assert.Equal("172.20.20.0/24", pinnedAddress.Mgmt.Ipv4Subnet);
        Assert.Equal("172.20.20.9", pinnedAddress.Nodes[0].MgmtIpv4);
    }

    [Fact]
    public void Cmd_and_entrypoint_are_split_into_words_without_a_shell()
    {
        var plan = PlanText("""
            name: w
            topology:
              nodes:
                a: {kind: linux, image: ltb/tiny:latest, cmd: "sh -c 'echo \"a b\"; sleep 1'", entrypoint: /bin/env}
            """).Plan!;
        Assert.Equal(["sh", "-c", "echo \"a b\"; sleep 1"], plan.Nodes[0].Cmd);
        Assert.Equal(["/bin/env"], plan.Nodes[0].Entrypoint);
    }

    [Fact]
    public void A_host_side_endpoint_comes_second()
    {
        var plan = PlanText("""
            name: h
            topology:
              nodes: {a: {kind: linux, image: ltb/tiny:latest}}
              links: [{endpoints: ["host:veth-a", "a:eth1"]}]
            """).Plan!;
        var link = Assert.Single(plan.Links);
        Assert.Equal(Ltb.Runtime.Plan.LinkType.Host, link.Type);
        Assert.Equal(new LinkEndpoint("a", "eth1"), link.A);
        Assert.Equal(new LinkEndpoint("host", "veth-a"), link.B);
    }

    [Fact]
    public void What_this_runtime_cannot_deploy_is_refused_by_name()
    {
        var result = PlanText("""
            name: r
            topology:
              nodes:
                vm1: {kind: generic_vm, image: /var/lib/disks/disk.qcow2}
                vm2: {kind: ltb_tinyvm, binds: ["/etc:/etc"], env: {IP_eth1: "10.0.0.2/24; reboot"}}
                vm3: {kind: ltb_tinyvm}
                c1: {kind: linux, image: ltb/tiny:latest, network-mode: host}
                c2: {kind: linux, image: ltb/tiny:latest}
              links:
                - endpoints: ["vm3:eth30", "c2:eth1"]
            """);
        Assert.Null(result.Plan);
        Assert.Contains(result.Errors, e => e.StartsWith("node 'vm1' (kind generic_vm) names the VM image '/var/lib/disks/disk.qcow2', which is not an image name", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("node 'vm2' (kind ltb_tinyvm) is a VM and sets 'binds', which only container nodes take", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("node 'vm2' (kind ltb_tinyvm): env IP_eth1 cannot be passed to a VM", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("interface 'eth30' of VM node 'vm3' is not one of its cards", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("node 'c1' (kind linux) asks for the host's network", StringComparison.Ordinal));
    }

    [Fact]
    public void A_vm_node_plans_with_its_image_limits_env_and_its_types_readiness()
    {
        var result = PlanText("""
            name: r
            topology:
              nodes:
                vm1: {kind: ltb_tinyvm, env: {IP_eth1: 10.0.0.2/24}, memory: 384MiB}
                c1: {kind: linux, image: ltb/tiny:latest}
              links:
                - endpoints: ["vm1:eth1", "c1:eth1"]
            """);
        Assert.Empty(result.Errors);
        var vm = result.Plan!.Nodes.Single(n => n.Name == "vm1");
        Assert.Equal(NodeRuntime.Vm, vm.Runtime);
        Assert.Equal("ltb/tinyvm", vm.Image);
        Assert.Equal(new VmPlan("ltb/tinyvm") { ReadyLog = "^ltb-tinyvm ready", ReadyTimeoutSeconds = 60 }, vm.Vm);
        Assert.Equal(384L << 20, vm.Memory);
        Assert.Equal(1, vm.Cpu);
        Assert.Equal("10.0.0.2/24", vm.Env["IP_eth1"]);
        Assert.Null(result.Plan.Nodes.Single(n => n.Name == "c1").Vm);
    }

    [Fact]
    public void A_vm_node_gets_a_display_from_its_label_and_a_wrong_value_is_refused()
    {
        var result = PlanText("""
            name: r
            topology:
              nodes:
                vm1: {kind: ltb_tinyvm, labels: {ltb.display: vnc}}
                vm2: {kind: ltb_tinyvm}
                vm3: {kind: ltb_tinyvm, labels: {ltb.display: none}}
            """);
        Assert.Empty(result.Errors);
        Assert.Equal([true, false, false], result.Plan!.Nodes.OrderBy(n => n.Name).Select(n => n.Vm!.Display));
        // Left out of the stored plan without a display: the node hashes of labs deployed before stay the same.
        Assert.DoesNotContain("display", System.Text.Json.JsonSerializer.Serialize(result.Plan.Nodes.Single(n => n.Name == "vm2").Vm),
            StringComparison.OrdinalIgnoreCase);

        var wrong = PlanText("""
            name: r
            topology:
              nodes:
                vm1: {kind: ltb_tinyvm, labels: {ltb.display: spice}}
            """);
        Assert.Null(wrong.Plan);
        Assert.Contains("node 'vm1' (kind ltb_tinyvm): label ltb.display is 'vnc' (a graphical display reached through LTB) or 'none', not 'spice'",
            wrong.Errors);
    }

    [Fact]
    public void Vxlan_and_vxlan_stitch_links_plan_into_one_vxlan_device_in_the_node()
    {
        var result = PlanText("""
            name: r
            topology:
              nodes:
                c1: {kind: linux, image: ltb/tiny:latest}
                c2: {kind: linux, image: ltb/tiny:latest}
              links:
                - type: vxlan
                  endpoint: {node: c1, interface: eth1, mac: "02:00:00:00:00:11"}
                  remote: 192.0.2.1
                  vni: 10
                - type: vxlan-stitch
                  endpoint: {node: c2, interface: eth1}
                  remote: 2001:db8::1
                  vni: 11
                  dst-port: 14789
                  mtu: 1400
            """);
        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        var a = result.Plan!.Links[0];
        Assert.Equal(Ltb.Runtime.Plan.LinkType.Vxlan, a.Type);
        Assert.Equal(new LinkEndpoint("c1", "eth1", "02:00:00:00:00:11"), a.A);
        Assert.Null(a.B);
        Assert.Equal(new VxlanPlan("192.0.2.1", 10, 4789), a.Vxlan);
        Assert.Equal(LinkPlan.AutoMtu, a.Mtu); // the host fills in the underlay's MTU minus 50
        var b = result.Plan.Links[1];
        Assert.Equal(Ltb.Runtime.Plan.LinkType.Vxlan, b.Type);
        Assert.Equal(new VxlanPlan("2001:db8::1", 11, 14789), b.Vxlan);
        Assert.Equal(1400, b.Mtu);
        Assert.Equal(50, VxlanPlan.Overhead("192.0.2.1"));
        Assert.Equal(70, VxlanPlan.Overhead("2001:db8::1"));
        PlanValidator.Validate(result.Plan);
    }

    [Fact]
    public void Administrators_may_use_the_host_network()
    {
        var result = PlanText("""
            name: t
            topology: {nodes: {c1: {kind: linux, image: ltb/tiny:latest, network-mode: host}}}
            """, new PlanningOptions { Trusted = true });
        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        Assert.Equal("host", result.Plan!.Nodes[0].NetworkMode);
    }

    [Fact]
    public void Container_network_mode_names_a_node_of_the_lab_which_starts_first_and_nothing_outside_it_for_non_admins()
    {
        const string yaml = """
            name: shared
            topology:
              nodes:
                a: { kind: linux, image: ltb/tiny }
                b: { kind: linux, image: ltb/tiny, network-mode: "container:a" }
                c: { kind: linux, image: ltb/tiny, network-mode: "container:somebody-elses" }
            """;
        // Loaded as an admin's (validation lets it through), planned for a student: the planner is a wall of its own.
        var loaded = TopologyLoader.LoadText(yaml, Path.Combine(Path.GetTempPath(), "shared.clab.yml"), new LoadOptions { Trusted = true });
        Assert.False(loaded.HasErrors, string.Join("\n", loaded.Diagnostics));
        var student = LabPlanner.Plan(loaded.Lab!, new PlanningOptions { Trusted = false });
        var error = Assert.Single(student.Errors);
        Assert.Contains("node 'c'", error, StringComparison.Ordinal);
        Assert.Contains("'somebody-elses'", error, StringComparison.Ordinal);
        Assert.Contains("only administrators", error, StringComparison.Ordinal);

        var admin = LabPlanner.Plan(loaded.Lab!, new PlanningOptions { Trusted = true });
        Assert.True(admin.Succeeded, string.Join("\n", admin.Errors));
        Assert.True(admin.Plan!.Trusted);
        var b = admin.Plan.Nodes.Single(n => n.Name == "b");
        Assert.Equal("container:a", b.NetworkMode);
        Assert.Equal(["a"], b.WaitFor); // an implicit wait-for: a's namespace must exist first
    }
}
