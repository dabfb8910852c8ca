using System.Text.Json;
using Ltb.Testing;
using Ltb.Topology.Catalog;
using Ltb.Topology.LtbFormat;
using Ltb.Topology.Writing;

namespace Ltb.Topology.Tests.LtbFormat;

public sealed class LtbTemplateTests
{
    private static readonly string Example = Path.Combine(Repo.Root, "docs", "examples", "ospf-triangle.ltb.yml");

    [Fact]
    public void The_documented_example_loads_with_device_types_versions_config_and_cloud_init()
    {
        var result = TopologyLoader.LoadFile(Example, TestOptions.Untrusted with { Trusted = true });
        Assert.Empty(result.Diagnostics);
        var lab = result.Lab!;
        Assert.Equal(TopologyFormat.Ltb, lab.Format);
        Assert.Equal("Three FRR routers in OSPF area 0; PC1 behind r1; a Debian VM behind r3.", lab.Description);
        var r1 = lab.FindNode("r1")!;
        Assert.Equal("frr", r1.Kind);
        Assert.Equal("10.5.1", r1.Version);
        Assert.Equal("quay.io/frrouting/frr:10.5.1", r1.Image);
        Assert.StartsWith("frr defaults traditional\n", r1.StartupConfig!.Text);
        Assert.Equal([new PortMapping(null, 2601, 2601, "tcp")], r1.Ports);
        Assert.Equal(256L << 20, r1.MemoryBytes);
        Assert.Equal("networking-101", r1.Labels["course"]);
        var vm = lab.FindNode("vm1")!;
        Assert.Equal(NodeRuntime.Vm, vm.Runtime);
        Assert.Equal("#cloud-config\nhostname: vm1\n", vm.CloudInit);
        Assert.Equal(["r3"], vm.WaitFor);
        Assert.Equal("10.1.0.1/24", lab.Links[3].Endpoints[0].Ipv4);
    }

    [Fact]
    public void A_version_picks_the_image_tag_of_the_device_type()
    {
        var lab = TopologyLoader.LoadText("format: ltb/v1\nname: v\nnodes:\n  s: {device: nokia_srlinux, version: \"24.10\"}\n", "/x/t.ltb.yml",
            TestOptions.Untrusted).ValidLab!;
        Assert.Equal("ghcr.io/nokia/srlinux:24.10", lab.Nodes[0].Image);
    }

    [Fact]
    public void An_unknown_device_or_version_is_an_error_in_the_template_words()
    {
        var result = TopologyLoader.LoadText("format: ltb/v1\nname: v\nnodes:\n  a: {device: frrr}\n  b: {device: frr, version: \"9.0\"}\n", "t.ltb.yml",
            TestOptions.Untrusted);
        Assert.Equal(
        [
            "t.ltb.yml:4:15: error: node 'a' has unknown device 'frrr'; did you mean 'frr'?",
            "t.ltb.yml:5:29: error: device 'frr' has no version '9.0' in the catalog; known versions: 10.5.1",
        ], result.Diagnostics.Select(d => d.ToString()));
    }

    [Fact]
    public void Containerlab_keys_are_not_template_keys()
    {
        var result = TopologyLoader.LoadText("format: ltb/v1\nname: v\nnodes:\n  a: {kind: linux, image: alpine}\n", "t.ltb.yml",
            TestOptions.Untrusted);
        Assert.Equal("t.ltb.yml:4:7: error: unknown key 'kind' in node 'a'; this format calls it 'device'", Assert.Single(result.Diagnostics).ToString());
    }

    [Fact]
    public void An_unknown_format_version_is_an_error()
    {
        var result = TopologyLoader.LoadText("format: ltb/v9\nname: v\nnodes:\n  a: {image: alpine}\n", "t.ltb.yml", TestOptions.Untrusted);
        Assert.Equal("t.ltb.yml:1:9: error: unknown format 'ltb/v9'; this LTB reads 'ltb/v1'", Assert.Single(result.Diagnostics).ToString());
    }

    [Fact]
    public void The_schema_is_embedded_valid_json_and_published_in_docs()
    {
        using var schema = JsonDocument.Parse(LtbSchema.Json);
        Assert.Equal("ltb/v1", schema.RootElement.GetProperty("properties").GetProperty("format").GetProperty("const").GetString());
        Assert.Equal(LtbSchema.Json, File.ReadAllText(Path.Combine(Repo.Root, "docs", "schema", "ltb-lab-template.schema.json")));
    }

    [Fact]
    public void The_schema_lists_every_template_node_key()
    {
        using var schema = JsonDocument.Parse(LtbSchema.Json);
        var keys = schema.RootElement.GetProperty("$defs").GetProperty("nodeSettings").GetProperty("properties").EnumerateObject().Select(p => p.Name).Order();
        Assert.Equal(Spec.NodeFields.Ltb.Keys.Order(), keys);
    }

    [Fact]
    public void A_template_converts_to_containerlab_and_back()
    {
        var original = TopologyLoader.LoadFile(Example, TestOptions.Untrusted).ValidLab!;
        var clab = TopologyWriter.Write(original, TopologyFormat.Containerlab, Path.GetDirectoryName(Example)!);
        var back = TopologyLoader.LoadText(clab, Path.ChangeExtension(Example, ".clab.yml"), TestOptions.Untrusted);
        Assert.Empty(back.Diagnostics);
        // containerlab has no description, catalog version or cloud-init: those are the only differences.
        var expected = original with
        {
            Description = null,
            Nodes = [.. original.Nodes.Select(n => n with { Version = null, CloudInit = null })],
        };
        Assert.Equal(LabJson.ToJson(expected), LabJson.ToJson(back.Lab!));
    }
}
