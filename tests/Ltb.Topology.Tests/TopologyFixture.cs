using Ltb.Topology.Validation;

namespace Ltb.Topology.Tests;

/// <summary>A topology in a fresh temporary folder, with the files it refers to, loaded with a fixed environment.</summary>
internal sealed class TempTopology : IDisposable
{
    public TempTopology(string yaml, string fileName = "lab.clab.yml", params (string Path, string Content)[] files)
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ltb-topology-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        foreach (var (path, content) in files)
        {
            var full = System.IO.Path.Combine(Directory, path);
            System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
        }
        Path = System.IO.Path.Combine(Directory, fileName);
        File.WriteAllText(Path, yaml);
    }

    public string Directory { get; }

    public string Path { get; }

    public static readonly IReadOnlyDictionary<string, string> Env = new Dictionary<string, string>
    {
        ["HOME"] = "/home/student",
        ["LAB_IMAGE"] = "alpine:3",
    };

    public LoadResult Load(bool trusted = false, IReadOnlyDictionary<string, string>? env = null) =>
        TopologyLoader.LoadFile(Path, new LoadOptions { Trusted = trusted, Environment = env ?? Env });

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

internal static class Diagnostics
{
    /// <summary>Loads text (paths relative to a folder that does not exist) and returns the diagnostics as printed.</summary>
    public static List<string> Of(string yaml, bool trusted = false) =>
        [.. TopologyLoader.LoadText(yaml, "t.clab.yml", new LoadOptions { Trusted = trusted, Environment = TempTopology.Env }).Diagnostics.Select(d => d.ToString())];

    public static string Single(string yaml, bool trusted = false)
    {
        var all = Of(yaml, trusted);
        Assert.True(all.Count == 1, "expected one diagnostic, got:\n" + string.Join("\n", all));
        return all[0];
    }

    public static Lab LabOf(string yaml)
    {
        var result = TopologyLoader.LoadText(yaml, "/nonexistent/t.clab.yml", new LoadOptions { Environment = TempTopology.Env });
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        return result.Lab!;
    }

    public static IEnumerable<Diagnostic> Errors(this LoadResult result) => result.Diagnostics.Where(d => d.IsError);
}
