using Ltb.Topology.Tests.Corpus;
using Ltb.Topology.Writing;

namespace Ltb.Topology.Tests.Writing;

/// <summary>containerlab -> LTB -> containerlab keeps the resolved model.</summary>
public sealed class RoundTripTests
{
    [Theory]
    [MemberData(nameof(CorpusFiles.Theory), MemberType = typeof(CorpusFiles))]
    public void Converting_to_ltb_and_back_keeps_the_resolved_model(string relative)
    {
        var path = CorpusFiles.PathOf(relative);
        using var licensed = CorpusFiles.NeedLicense.Contains(relative) ? WithLicense(path) : null;
        path = licensed?.Path ?? path;
        var directory = Path.GetDirectoryName(path)!;
        var original = TopologyLoader.LoadFile(path, CorpusFiles.Options);
        Assert.False(original.HasErrors, string.Join("\n", original.Diagnostics));
        var expected = LabJson.ToJson(original.Lab!);

        var ltbText = TopologyWriter.Write(original.Lab!, TopologyFormat.Ltb, directory);
        var asLtb = TopologyLoader.LoadText(ltbText, Path.Combine(directory, "converted.ltb.yml"), CorpusFiles.Options);
        Assert.Equal(TopologyFormat.Ltb, asLtb.Lab!.Format);
        Assert.Equal(original.Diagnostics.Select(d => d.Message), asLtb.Diagnostics.Select(d => d.Message));
        Assert.Equal(expected, LabJson.ToJson(asLtb.Lab));

        var clabText = TopologyWriter.Write(asLtb.Lab, TopologyFormat.Containerlab, directory);
        var back = TopologyLoader.LoadText(clabText, Path.Combine(directory, "converted.clab.yml"), CorpusFiles.Options);
        Assert.Equal(TopologyFormat.Containerlab, back.Lab!.Format);
        Assert.Equal(expected, LabJson.ToJson(back.Lab));
    }

    /// <summary>A copy of a topology beside the license file it names, so that it loads without error.</summary>
    private static TempTopology WithLicense(string path)
    {
        var text = File.ReadAllText(path);
        var license = System.Text.RegularExpressions.Regex.Match(text, @"license: (\S+)").Groups[1].Value;
        return new TempTopology(text, Path.GetFileName(path), (license, "not a real license"));
    }
}
