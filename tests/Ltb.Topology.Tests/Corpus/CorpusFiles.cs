using Ltb.Testing;

namespace Ltb.Topology.Tests.Corpus;

/// <summary>The topology files of ../shared/corpus/containerlab (see its README: which files are not topologies).</summary>
public static class CorpusFiles
{
    /// <summary>The files that refer to license files not distributed with the corpus.</summary>
    public static readonly IReadOnlySet<string> NeedLicense = new HashSet<string> { "cert01/cert01.clab.yml", "vxlan01/vxlan-sros.clab.yml" };

    public static IEnumerable<string> All() =>
        Directory.EnumerateFiles(Repo.ContainerlabCorpus, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yml", StringComparison.Ordinal) || f.EndsWith(".yaml", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(Repo.ContainerlabCorpus, f))
            .Where(f => !IsNotATopology(f))
            .Order(StringComparer.Ordinal);

    public static TheoryData<string> Theory() => [.. All()];

    private static bool IsNotATopology(string relative) =>
        relative.StartsWith("clos02/configs/", StringComparison.Ordinal)
        || relative is "k8s_kind01/k01-config.yaml" or "osvbng01/bng1/osvbng.yaml"
        || relative.EndsWith("_vars.yaml", StringComparison.Ordinal);

    public static string PathOf(string relative) => Path.Combine(Repo.ContainerlabCorpus, relative);

    /// <summary>As the command line loads: trusted (host paths such as /lib/modules allowed), an empty environment.</summary>
    public static LoadOptions Options { get; } = new() { Trusted = true, Environment = new Dictionary<string, string> { ["HOME"] = "/root" } };
}
