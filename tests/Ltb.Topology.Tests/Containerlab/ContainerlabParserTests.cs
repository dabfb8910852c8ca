namespace Ltb.Topology.Tests.Containerlab;

public sealed class ContainerlabParserTests
{
    [Fact]
    public void Every_node_key_reaches_the_model()
    {
        using var t = new TempTopology("""
            name: full
            prefix: ""
            mgmt:
              network: labnet
              ipv4-subnet: 10.0.0.0/24
              ipv6-subnet: 2001:db8::/64
              ipv4-gw: 10.0.0.1
              mtu: 1400
              bridge: br-lab
            topology:
              nodes:
                r1:
                  kind: linux
                  image: alpine:3
                  type: small
                  startup-config: r1.cfg
                  env-files: [r1.env]
                  env: {B: from-env}
                  exec: ["ip link set eth1 up"]
                  ports: ["8080:80", "127.0.0.1:5353:53/udp"]
                  mgmt-ipv4: 10.0.0.10
                  mgmt-ipv6: 2001:db8::10
                  labels: {role: edge}
                  cpu: 0.5
                  memory: 256MiB
                  cpu-set: 0-1
                  cap-add: [SYS_ADMIN]
                  sysctls: {net.ipv4.conf.all.rp_filter: 0}
                  user: root
                  entrypoint: /bin/sh
                  cmd: sleep infinity
                  network-mode: bridge
                  restart-policy: always
                  healthcheck: {test: [CMD, "true"], interval: 5, retries: 3}
                  dns: {servers: [1.1.1.1], search: [lab]}
                  aliases: [edge1]
                  license: r1.lic
                  config: {vars: {asn: 65001}}
                r2:
                  image: alpine:3
                  wait-for: [r1]
                  stages:
                    create:
                      wait-for:
                        - node: r1
                          stage: healthy
                  startup-config: |
                    hostname r2
            """, "lab.clab.yml", ("r1.cfg", "hostname r1\n"), ("r1.env", "A=from-file\nB=overridden\n# comment\n"), ("r1.lic", "key"));
        var result = t.Load(trusted: true);
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        var lab = result.Lab!;
        Assert.Equal("", lab.Prefix);
        Assert.Equal(new MgmtNetwork { Network = "labnet", Ipv4Subnet = "10.0.0.0/24", Ipv6Subnet = "2001:db8::/64", Ipv4Gateway = "10.0.0.1", Mtu = 1400, Bridge = "br-lab", SubnetWritten = true }, lab.Mgmt);
        var r1 = lab.FindNode("r1")!;
        Assert.Equal("small", r1.Variant);
        Assert.Equal(new StartupConfig(Path.Combine(t.Directory, "r1.cfg"), null), r1.StartupConfig);
        Assert.Equal("from-file", r1.Env["A"]);
        Assert.Equal("from-env", r1.Env["B"]);
        var envFile = Assert.Single(r1.EnvFiles);
        Assert.Equal(Path.Combine(t.Directory, "r1.env"), envFile.Path);
        Assert.True(envFile.Span.IsKnown);
        Assert.Equal(["ip link set eth1 up"], r1.Exec);
        Assert.Equal([new PortMapping(null, 8080, 80, "tcp"), new PortMapping("127.0.0.1", 5353, 53, "udp")], r1.Ports);
        Assert.Equal("10.0.0.10", r1.MgmtIpv4);
        Assert.Equal("2001:db8::10", r1.MgmtIpv6);
        Assert.Equal("edge", r1.Labels["role"]);
        Assert.Equal(0.5, r1.Cpu);
        Assert.Equal(256L << 20, r1.MemoryBytes);
        Assert.Equal("0-1", r1.CpuSet);
        Assert.Equal(["NET_ADMIN", "NET_RAW", "SYS_ADMIN"], r1.CapAdd);
        Assert.Equal("0", r1.Sysctls["net.ipv4.conf.all.rp_filter"]);
        Assert.Equal("root", r1.User);
        Assert.Equal("/bin/sh", r1.Entrypoint);
        Assert.Equal("sleep infinity", r1.Cmd);
        Assert.Equal("bridge", r1.NetworkMode);
        Assert.Equal("always", r1.RestartPolicy);
        Assert.Equal(["CMD", "true"], r1.Healthcheck!.Test);
        Assert.Equal(5, r1.Healthcheck.Interval);
        Assert.Equal(["1.1.1.1"], r1.Dns!.Servers);
        Assert.Equal(["edge1"], r1.Aliases);
        Assert.Equal(Path.Combine(t.Directory, "r1.lic"), r1.License);
        Assert.Equal("65001", r1.ConfigVars["asn"]);
        var r2 = lab.FindNode("r2")!;
        Assert.Equal(["r1"], r2.WaitFor);
        Assert.Equal(new StartupConfig(null, "hostname r2"), r2.StartupConfig);
        Assert.NotNull(r2.Stages);
    }

    [Fact]
    public void Keys_ltb_does_not_act_on_warn_with_their_position()
    {
        var result = TopologyLoader.LoadText("name: w\ntopology:\n  nodes:\n    n:\n      image: a\n      extras: {x: 1}\n      runtime: podman\n", "t.clab.yml",
            TestOptions.Untrusted with { Trusted = true });
        Assert.False(result.HasErrors);
        Assert.Equal(
        [
            "t.clab.yml:6:7: warning: 'extras' of node 'n' is not supported by LTB yet; it is kept for conversion but has no effect",
            "t.clab.yml:7:7: warning: 'runtime' of node 'n' is not supported by LTB yet; it is kept for conversion but has no effect",
        ], result.Diagnostics.Select(d => d.ToString()));
        Assert.Equal("podman", result.Lab!.Nodes[0].Unsupported["runtime"]);
    }

    [Fact]
    public void An_unknown_key_is_an_error_with_a_suggestion()
    {
        Assert.Equal("t.clab.yml:5:7: error: unknown key 'imgae' in node 'n'; did you mean 'image'?",
            Diagnostics.Single("name: u\ntopology:\n  nodes:\n    n:\n      imgae: alpine\n      image: alpine\n"));
    }

    [Fact]
    public void Links_brief_and_extended_forms_resolve_to_types()
    {
        var lab = Diagnostics.LabOf(trusted: true, yaml: """
            name: links
            topology:
              nodes:
                a: {image: alpine}
                b: {image: alpine}
                srl: {kind: srl}
              links:
                - endpoints: ["a:eth1", "b:eth1"]
                  mtu: 9000
                - endpoints: ["a:eth2", "host:a-eth2"]
                - endpoints: ["a:eth3", "mgmt-net:a-eth3"]
                - endpoints: ["a:eth4", "macvlan:enp0s3"]
                - type: veth
                  endpoints:
                    - {node: a, interface: eth5, mac: "02:00:00:00:00:01", ipv4: 192.168.0.1/24}
                    - {node: srl, interface: ethernet-1/1, ipv6: "2001:db8::2/64"}
                  vars: {cost: 10}
                - type: host
                  endpoint: {node: b, interface: eth2}
                  host-interface: b-eth2
                - type: macvlan
                  endpoint: {node: b, interface: eth3}
                  host-interface: enp0s3
                  mode: passthru
                - type: vxlan
                  endpoint: {node: b, interface: eth4}
                  remote: 10.0.0.2
                  vni: 100
                  dst-port: 4789
                - type: vxlan-stitch
                  endpoint: {node: b, interface: eth5}
                  remote: 10.0.0.2
                  vni: 101
                - type: dummy
                  endpoint: {node: b, interface: eth6}
                - type: mgmt-net
                  endpoint: {node: b, interface: eth7}
                  host-interface: b-eth7
            """);
        Assert.Equal(
        [
            LinkType.Veth, LinkType.Host, LinkType.MgmtNet, LinkType.Macvlan, LinkType.Veth, LinkType.Host, LinkType.Macvlan,
            LinkType.Vxlan, LinkType.VxlanStitch, LinkType.Dummy, LinkType.MgmtNet,
        ], lab.Links.Select(l => l.Type));
        Assert.Equal(9000, lab.Links[0].Mtu);
        Assert.Equal(("host", "a-eth2", "a-eth2"), (lab.Links[1].Endpoints[1].Node, lab.Links[1].Endpoints[1].Interface, lab.Links[1].Endpoints[1].LinuxInterface));
        var extended = lab.Links[4];
        Assert.Equal("02:00:00:00:00:01", extended.Endpoints[0].Mac);
        Assert.Equal("192.168.0.1/24", extended.Endpoints[0].Ipv4);
        Assert.Equal("e1-1", extended.Endpoints[1].LinuxInterface);
        Assert.Equal("ethernet-1/1", extended.Endpoints[1].Interface);
        Assert.Equal("10", extended.Vars["cost"]);
        Assert.Equal("passthru", lab.Links[6].Mode);
        Assert.Equal(new VxlanSettings("10.0.0.2", 100, 4789, null), lab.Links[7].Vxlan);
    }

    [Fact]
    public void A_macvlan_mode_outside_the_kernels_four_is_refused_where_written()
    {
        var message = Diagnostics.Single("""
            name: links
            topology:
              nodes:
                a: {image: alpine}
              links:
                - type: macvlan
                  endpoint: {node: a, interface: eth1}
                  host-interface: enp0s3
                  mode: bridged
            """, trusted: true);
        Assert.Contains("'mode' of link 1 is 'bridged'; a macvlan link's mode is bridge (the default), vepa, private or passthru", message);
        Assert.StartsWith("t.clab.yml:6:7: error:", message);
    }
}
