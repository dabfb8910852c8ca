using Ltb.Topology.Catalog;

namespace Ltb.Topology.Tests.Containerlab;

public sealed class InheritanceTests
{
    private const string Topology = """
        name: inherit
        topology:
          defaults:
            image: default:1
            env: {LEVEL: defaults, FROM_DEFAULTS: "yes"}
            labels: {team: net}
            binds:
              - shared:/shared
              - defaults.conf:/etc/app.conf
          kinds:
            linux:
              image: kind:1
              env: {LEVEL: kind, FROM_KIND: "yes"}
              binds:
                - kind.conf:/etc/app.conf:ro
          groups:
            routers:
              kind: frr
              env: {LEVEL: group}
              cpu: 2
          nodes:
            plain: {}
            router:
              group: routers
              env: {LEVEL: node}
              memory: 1Gb
              binds:
                - node.conf:/etc/app.conf
        """;

    private static Lab Load(out TempTopology topology)
    {
        topology = new TempTopology(Topology, "lab.clab.yml", ("shared/x", ""), ("defaults.conf", ""), ("kind.conf", ""), ("node.conf", ""));
        var result = topology.Load();
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        return result.Lab!;
    }

    [Fact]
    public void Node_group_kind_defaults_the_most_specific_wins()
    {
        var lab = Load(out var t);
        using (t)
        {
            var plain = lab.FindNode("plain")!;
            Assert.Equal("linux", plain.Kind);
            Assert.Equal("kind:1", plain.Image);
            Assert.Equal("kind", plain.Env["LEVEL"]);
            var router = lab.FindNode("router")!;
            Assert.Equal("frr", router.Kind);
            Assert.Equal("routers", router.Group);
            // frr has no `kinds:` entry here, so the image comes from defaults.
            Assert.Equal("default:1", router.Image);
            Assert.Equal("node", router.Env["LEVEL"]);
            Assert.Equal(2, router.Cpu);
            Assert.Equal("1Gb", router.Memory);
            Assert.Equal(1L << 30, router.MemoryBytes);
        }
    }

    [Fact]
    public void Env_labels_and_binds_merge_across_levels()
    {
        var lab = Load(out var t);
        using (t)
        {
            var plain = lab.FindNode("plain")!;
            Assert.Equal("yes", plain.Env["FROM_DEFAULTS"]);
            Assert.Equal("yes", plain.Env["FROM_KIND"]);
            Assert.Equal("net", plain.Labels["team"]);
            Assert.Equal(
            [
                new Bind(Path.Combine(t.Directory, "shared"), "/shared", null),
                new Bind(Path.Combine(t.Directory, "kind.conf"), "/etc/app.conf", "ro"),
            ], plain.Binds);
            var router = lab.FindNode("router")!;
            Assert.Equal(Path.Combine(t.Directory, "node.conf"), router.Binds.Single(b => b.Target == "/etc/app.conf").Source);
            Assert.Null(router.Binds.Single(b => b.Target == "/etc/app.conf").Mode);
        }
    }

    [Fact]
    public void Catalog_defaults_fill_what_the_topology_leaves_out()
    {
        var lab = Load(out var t);
        using (t)
        {
            var router = lab.FindNode("router")!;
            Assert.Equal(["NET_ADMIN", "NET_RAW"], router.CapAdd);
            Assert.Equal("1", router.Sysctls["net.ipv4.ip_forward"]);
            Assert.Equal(NodeRuntime.Container, router.Runtime);
        }
    }

    [Fact]
    public void Linux_is_the_default_kind()
    {
        var lab = Diagnostics.LabOf("name: d\ntopology:\n  nodes:\n    n: {image: alpine}\n");
        Assert.Equal("linux", lab.Nodes[0].Kind);
    }
}
