namespace Ltb.Topology.Tests.Corpus;

/// <summary>Every containerlab topology of the corpus loads; only unsupported features warn.</summary>
public sealed class CorpusConformanceTests
{
    [Fact]
    public void The_corpus_has_the_expected_number_of_topologies() => Assert.Equal(51, CorpusFiles.All().Count());

    [Theory]
    [MemberData(nameof(CorpusFiles.Theory), MemberType = typeof(CorpusFiles))]
    public void Each_topology_loads(string relative)
    {
        var result = TopologyLoader.LoadFile(CorpusFiles.PathOf(relative), CorpusFiles.Options);
        Assert.NotNull(result.Lab);
        if (CorpusFiles.NeedLicense.Contains(relative))
        {
            return;
        }
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        Assert.All(result.Diagnostics, d => Assert.Contains("is not supported by LTB yet", d.Message));
    }

    [Theory]
    [InlineData("cert01/cert01.clab.yml", 7, "license-sros21.txt", "sr")]
    [InlineData("vxlan01/vxlan-sros.clab.yml", 8, "license-sros20.txt", "sros")]
    public void A_license_file_not_distributed_is_reported_at_the_license_line(string relative, int line, string license, string node)
    {
        var path = CorpusFiles.PathOf(relative);
        var result = TopologyLoader.LoadFile(path, CorpusFiles.Options);
        var d = Assert.Single(result.Diagnostics);
        Assert.Equal(
            $"{path}:{line}:16: error: license file '{license}' of node '{node}' does not exist (looked for {Path.Combine(Path.GetDirectoryName(path)!, license)}); license files are not distributed with labs: put the file there or point 'license:' at it",
            d.ToString());
        Assert.StartsWith("      license:", File.ReadAllLines(path)[line - 1]);
    }

    [Fact]
    public void Frr01_resolves_groups_binds_and_interfaces()
    {
        var lab = TopologyLoader.LoadFile(CorpusFiles.PathOf("frr01/frr01.clab.yml"), CorpusFiles.Options).ValidLab!;
        Assert.Equal(6, lab.Nodes.Count);
        var router1 = lab.FindNode("router1")!;
        Assert.Equal("quay.io/frrouting/frr:10.5.1", router1.Image);
        Assert.Equal(CorpusFiles.PathOf("frr01/router1/frr.conf"), router1.Binds.Single(b => b.Target == "/etc/frr/frr.conf").Source);
        Assert.Equal("1", router1.Sysctls["net.ipv4.ip_forward"]);
        Assert.Equal("wbitt/network-multitool:3.22.2", lab.FindNode("PC1")!.Image);
        Assert.Equal(6, lab.Links.Count);
        Assert.All(lab.Links, l => Assert.Equal(LinkType.Veth, l.Type));
    }

    [Fact]
    public void Srl_quickstart_takes_variable_defaults_and_an_empty_prefix()
    {
        var lab = TopologyLoader.LoadFile(CorpusFiles.PathOf("srl-quickstart/srl01.clab.yml"), CorpusFiles.Options).ValidLab!;
        Assert.Equal("", lab.Prefix);
        Assert.Equal("ghcr.io/nokia/srlinux:latest", lab.Nodes[0].Image);
        Assert.Equal("ixr-d3l", lab.Nodes[0].Variant);
        var custom = TopologyLoader.LoadFile(CorpusFiles.PathOf("srl-quickstart/srl01.clab.yml"),
            CorpusFiles.Options with { Environment = new Dictionary<string, string> { ["SRL_VERSION"] = "24.10", ["CLAB_PREFIX"] = "me" } }).ValidLab!;
        Assert.Equal("ghcr.io/nokia/srlinux:24.10", custom.Nodes[0].Image);
        Assert.Equal("me", custom.Prefix);
    }

    [Fact]
    public void Host_paths_are_refused_for_untrusted_callers()
    {
        var result = TopologyLoader.LoadFile(CorpusFiles.PathOf("cvx02/topo.clab.yml"), CorpusFiles.Options with { Trusted = false });
        Assert.Contains(result.Errors(), d => d.Message.StartsWith("bind source '/lib/modules' of node 'sw1' is a host path", StringComparison.Ordinal));
    }
}
