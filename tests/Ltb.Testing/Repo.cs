namespace Ltb.Testing;

/// <summary>Paths of the repository and the shared corpus, found from the test's working folder.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    /// <summary>`../shared/corpus` beside the project root (see shared/corpus/README.md).</summary>
    public static string Corpus => Path.GetFullPath(Path.Combine(Root, "..", "shared", "corpus"));

    public static string ContainerlabCorpus => Path.Combine(Corpus, "containerlab");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LTB.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"LTB.slnx not found above {AppContext.BaseDirectory}");
    }
}
