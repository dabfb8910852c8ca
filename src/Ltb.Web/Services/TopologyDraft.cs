namespace Ltb.Web.Services;

/// <summary>
/// A topology folder the user opened in the editor without publishing it as a template (students may deploy their own
/// topologies, not publish templates): the topology's text and name, and the folder's other files, kept for the circuit
/// (scoped) until the editor deploys them with the edited text. Bounded like an upload (LabSources on the server).
/// </summary>
public sealed class TopologyDraft
{
    public const long MaxTotalBytes = 64L << 20;

    public Folder? Current { get; private set; }

    /// <summary>Keeps <paramref name="folder"/>; null when it is larger than an upload may be (the reason is for the user).</summary>
    public string? Open(Folder folder)
    {
        var total = folder.Files.Sum(f => (long)f.Content.Length) + folder.Text.Length;
        if (total > MaxTotalBytes)
        {
            return $"the folder holds {total >> 20} MiB; a lab's files may hold at most {MaxTotalBytes >> 20} MiB";
        }
        Current = folder;
        return null;
    }

    /// <summary>The topology file's name and text, and every other file under its path inside the folder.</summary>
    public sealed record Folder(string FileName, string Text, IReadOnlyList<FolderFile> Files);

    public sealed record FolderFile(string Path, byte[] Content);
}
