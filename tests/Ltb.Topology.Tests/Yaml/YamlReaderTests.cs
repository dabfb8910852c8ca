using Ltb.Topology.Validation;
using Ltb.Topology.Yaml;

namespace Ltb.Topology.Tests.Yaml;

public sealed class YamlReaderTests
{
    private static (YNode? Root, List<string> Diagnostics) Read(string text, YamlLimits? limits = null)
    {
        var bag = new DiagnosticBag();
        var root = YamlReader.Read(text, "f.yml", bag, limits);
        return (root, bag.ToSortedList().Select(d => d.ToString()).ToList());
    }

    [Fact]
    public void Nodes_carry_one_based_line_and_column()
    {
        var (root, diagnostics) = Read("a:\n  b: [x, y]\n");
        Assert.Empty(diagnostics);
        var b = ((YMapping)((YMapping)root!)["a"]!)["b"]!;
        Assert.Equal(new SourceSpan("f.yml", 2, 6), b.Span);
        Assert.Equal(new SourceSpan("f.yml", 2, 10), ((YSequence)b).Items[1].Span);
    }

    [Fact]
    public void A_syntax_error_is_positioned()
    {
        var (root, diagnostics) = Read("name: x\ntopology:\n  nodes: [a, b\n");
        Assert.Null(root);
        var d = Assert.Single(diagnostics);
        Assert.StartsWith("f.yml:4:1: error: YAML syntax: ", d);
    }

    [Fact]
    public void A_duplicate_key_is_an_error_at_the_second_key()
    {
        var (_, diagnostics) = Read("name: a\nother: 1\nname: b\n");
        Assert.Equal(["f.yml:3:1: error: duplicate key 'name'; it is already defined at line 1, column 1"], diagnostics);
    }

    [Fact]
    public void Billion_laughs_is_refused_at_the_alias_that_crosses_the_bound()
    {
        var text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
        for (var i = 1; i < 9; i++)
        {
            text += $"{(char)('a' + i)}: &{(char)('a' + i)} [{string.Join(", ", Enumerable.Repeat("*" + (char)('a' + i - 1), 10))}]\n";
        }
        var (root, diagnostics) = Read(text);
        Assert.Null(root);
        var d = Assert.Single(diagnostics);
        // Line 6 holds 10 aliases of 11,111 nodes each; the 10th crosses 1,000,000 together with the lines before.
        Assert.Equal("f.yml:6:36: error: aliases expand this document beyond 1000000 nodes (a 'billion laughs' pattern?); write the values out or use fewer aliases", d);
    }

    [Fact]
    public void Merge_keys_apply_and_explicit_keys_win()
    {
        var (root, diagnostics) = Read("base: &b {image: alpine, kind: linux}\nnode:\n  <<: *b\n  image: debian\n");
        Assert.Empty(diagnostics);
        var node = (YMapping)((YMapping)root!)["node"]!;
        Assert.Equal("debian", ((YScalar)node["image"]!).Value);
        Assert.Equal("linux", ((YScalar)node["kind"]!).Value);
    }

    [Fact]
    public void Deep_nesting_is_refused_with_its_position()
    {
        var text = "a: " + new string('[', 100) + new string(']', 100) + "\n";
        var (root, diagnostics) = Read(text);
        Assert.Null(root);
        Assert.Equal(["f.yml:1:67: error: the YAML is nested deeper than 64 levels; topologies need far fewer"], diagnostics);
    }

    [Fact]
    public void Text_over_the_size_limit_is_refused()
    {
        var (root, diagnostics) = Read("a: " + new string('x', 2000), new YamlLimits { MaxBytes = 1000 });
        Assert.Null(root);
        Assert.Equal(["f.yml:1:1: error: the file is larger than 0 KiB; topology files must be smaller (split the lab or remove embedded data)"], diagnostics);
    }

    [Fact]
    public void An_alias_without_anchor_is_an_error()
    {
        var (_, diagnostics) = Read("a: *nothing\n");
        Assert.Single(diagnostics);
        Assert.StartsWith("f.yml:1:", diagnostics[0]);
    }

    [Fact]
    public void A_second_document_is_an_error()
    {
        var (_, diagnostics) = Read("a: 1\n---\nb: 2\n");
        Assert.Equal(["f.yml:2:1: error: a topology file holds one YAML document; remove the second '---' and what follows"], diagnostics);
    }

    [Fact]
    public void A_file_over_one_MiB_is_refused_before_reading()
    {
        var path = Path.Combine(Path.GetTempPath(), $"ltb-big-{Guid.NewGuid():N}.clab.yml");
        File.WriteAllText(path, "name: big\n#" + new string('x', 1024 * 1024));
        try
        {
            var result = TopologyLoader.LoadFile(path);
            Assert.Equal($"{path}:1:1: error: the file is larger than 1024 KiB; topology files must be smaller (split the lab or remove embedded data)",
                Assert.Single(result.Diagnostics).ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
