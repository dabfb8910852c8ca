using Ltb.Topology.Variables;

namespace Ltb.Topology.Tests.Variables;

public sealed class EnvSubstitutionTests
{
    private static string? Expand(string input, out string? error) =>
        new EnvSubstitution(new Dictionary<string, string> { ["SET"] = "value", ["EMPTY"] = "" }).Expand(input, out error);

    [Theory]
    [InlineData("${SET}", "value")]
    [InlineData("${UNSET}", "")]
    [InlineData("${UNSET:-fallback}", "fallback")]
    [InlineData("${EMPTY:-fallback}", "fallback")]
    [InlineData("${EMPTY-fallback}", "")]
    [InlineData("${UNSET-fallback}", "fallback")]
    [InlineData("${SET:-fallback}", "value")]
    [InlineData("${UNSET:=assigned}", "assigned")]
    [InlineData("${CLAB_PREFIX:=\"\"}", "")]
    [InlineData("img:${UNSET:=latest}", "img:latest")]
    [InlineData("cost $$5", "cost $5")]
    [InlineData("echo $HOME", "echo $HOME")]
    [InlineData("no variables", "no variables")]
    public void Expands_like_containerlab(string input, string expected)
    {
        Assert.Equal(expected, Expand(input, out var error));
        Assert.Null(error);
    }

    [Fact]
    public void Assignment_is_seen_by_later_references()
    {
        var s = new EnvSubstitution(new Dictionary<string, string>());
        Assert.Equal("x", s.Expand("${V:=x}", out _));
        Assert.Equal("x", s.Expand("${V}", out _));
    }

    [Fact]
    public void An_unclosed_reference_is_an_error()
    {
        Assert.Null(Expand("a ${OOPS", out var error));
        Assert.Equal("the variable reference at character 3 has no closing '}'; write ${NAME} or $$ for a literal $", error);
    }

    [Theory]
    [InlineData("${SET:}")]
    [InlineData("${SET:?}")]
    [InlineData("${SET+x}")]
    public void A_reference_without_a_supported_operator_is_an_error(string input)
    {
        Assert.Null(Expand(input, out var error));
        Assert.Contains("uses an unsupported operator", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Variables_in_a_topology_are_substituted_and_errors_positioned()
    {
        var lab = Diagnostics.LabOf("name: v\ntopology:\n  nodes:\n    a:\n      image: ${LAB_IMAGE}\n    b:\n      image: ${NOPE:-debian:12}\n");
        Assert.Equal("alpine:3", lab.FindNode("a")!.Image);
        Assert.Equal("debian:12", lab.FindNode("b")!.Image);
        Assert.Equal("t.clab.yml:5:14: error: '${1X}' is not a variable reference; a name starts with a letter or '_' and holds letters, digits and '_'",
            Diagnostics.Single("name: v\ntopology:\n  nodes:\n    a:\n      image: ${1X}\n"));
    }

    [Fact]
    public void Magic_variables_are_replaced_per_node()
    {
        var lab = Diagnostics.LabOf("""
            name: magic
            topology:
              defaults:
                env:
                  WHO: __clabNodeName__@__clabLabName__
                binds:
                  - __clabNodeDir__/data:/data
              nodes:
                r1: {image: alpine}
            """);
        var r1 = lab.FindNode("r1")!;
        Assert.Equal("r1@magic", r1.Env["WHO"]);
        Assert.Equal("/nonexistent/clab-magic/r1/data", Assert.Single(r1.Binds).Source);
    }
}
