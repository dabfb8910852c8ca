using System.Diagnostics;
using CsCheck;
using Ltb.Topology.Tests.Corpus;

namespace Ltb.Topology.Tests;

/// <summary>Hostile input: random and mutated YAML always ends in a model or positioned errors, quickly.</summary>
public sealed class PropertyTests
{
    private static readonly string[] Seeds = [.. CorpusFiles.All().Select(f => File.ReadAllText(CorpusFiles.PathOf(f)))];

    private static readonly string[] Fragments =
    [
        ":", "- ", "[", "]", "{", "}", "&a ", "*a", "<<: *a", "\n", "  ", "\t", "\"", "'", "|", ">", "#", "---", "${X", "$$", "~",
        "kind: srl", "endpoints: [\"a:eth1\", \"b:eth1\"]", "nodes:", "links:", "topology:", "name: x", "!!str", "%YAML 1.1", "? ", ",",
    ];

    private static readonly TimeSpan Quickly = TimeSpan.FromSeconds(5);

    private static LoadResult Load(string text) =>
        TopologyLoader.LoadText(text, "/fuzz/t.clab.yml", new LoadOptions { Environment = new Dictionary<string, string>() });

    private static void AssertWellBehaved(string text)
    {
        var watch = Stopwatch.StartNew();
        var result = Load(text);
        if (watch.Elapsed >= Quickly)
        {
            // Wall-clock time on a loaded machine (the whole suite runs at once on 2 cores) says little: a slow input is
            // slow twice, a busy moment is not.
            watch.Restart();
            result = Load(text);
            Assert.True(watch.Elapsed < Quickly, "took " + watch.Elapsed + " twice in a row");
        }
        Assert.True(result.Lab is not null || result.HasErrors, "neither a model nor an error");
        Assert.All(result.Diagnostics, d =>
        {
            Assert.Equal("/fuzz/t.clab.yml", d.Span.File);
            Assert.True(d.Span.Line >= 1 && d.Span.Column >= 1, $"unpositioned: {d}");
            Assert.False(string.IsNullOrWhiteSpace(d.Message));
        });
    }

    [Fact]
    public void Mutated_corpus_files_never_crash()
    {
        var gen =
            from seed in Gen.Int[0, Seeds.Length - 1]
            from edits in Gen.Select(Gen.Int[0, 100_000], Gen.Int[0, 3], Gen.Int[0, Fragments.Length - 1], Gen.Int[1, 20]).Array[1, 8]
            select (seed, edits);
        gen.Sample(x =>
        {
            var text = Seeds[x.seed];
            foreach (var (at, op, fragment, length) in x.edits)
            {
                var i = at % (text.Length + 1);
                text = op switch
                {
                    0 => text.Insert(i, Fragments[fragment]),
                    1 => text.Remove(i, Math.Min(length, text.Length - i)),
                    2 => text.Insert(i, text.Substring(i / 2, Math.Min(length, text.Length - i / 2))),
                    _ => text[..i] + text[i..].Replace("  ", " ", StringComparison.Ordinal),
                };
            }
            AssertWellBehaved(text);
        }, iter: 1500);
    }

    [Fact]
    public void Random_text_never_crashes()
    {
        Gen.String[Gen.Char["abc:-[]{}&*!|>'\"#%@`\n \t$<,?~"], 0, 400].Sample(AssertWellBehaved, iter: 3000);
    }
}
