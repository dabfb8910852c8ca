using System.Text.Json;
using Ltb.Agent.Remote;
using Ltb.Runtime.Plan;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;

namespace Ltb.Server.Snapshots;

/// <summary>What a snapshot's folder says about itself (<c>snapshot.json</c>); the lab's status at the time is beside it.</summary>
public sealed record SnapshotManifest(int Format, string Name, string LabName, string SourceFileName, DateTimeOffset CreatedAt,
    IReadOnlyList<SnapshotNodeManifest> Nodes);

/// <summary>
/// One node in a snapshot: its kind and image (a snapshot references its image by name, never contains it), whether a
/// filesystem archive was saved, the paths it deleted from its image, and what did not work while saving it; the image's
/// repository digest when its host knew one (an export names it, so that the importer can pull the same image); whether a
/// VM node's RAM state was saved (<see cref="Memory"/>: a restore resumes the guest instead of booting it).
/// </summary>
public sealed record SnapshotNodeManifest(string Name, string Kind, string Image, bool Archive, IReadOnlyList<string> Deleted,
    IReadOnlyList<string> Warnings, string? ImageDigest = null)
{
    public bool Memory { get; init; }
}

/// <summary>
/// The snapshot store: a folder (<see cref="LtbServerOptions.SnapshotDirectory"/>, default DATA/snapshots) with one
/// folder per snapshot: <c>files/</c> (the topology and the lab's files as they were when it was taken: writable binds
/// and startup configurations carry the node's content), <c>nodes/NODE.tar</c> (each node's filesystem changes against
/// its image), <c>snapshot.json</c> and <c>status.json</c> (the lab's nodes, addresses and links as the host saw them).
/// A snapshot is made in <c>.staging/ID</c> and renamed into place whole, so a failed one leaves nothing.
/// </summary>
public sealed class SnapshotStore(LtbServerOptions options)
{
    public const int Format = 1;
    public const string FilesFolder = "files";
    public const string NodesFolder = "nodes";
    public const string ManifestFile = "snapshot.json";
    public const string StatusFile = "status.json";

    /// <summary>
    /// The folder, inside a deployment's files, where a snapshot's node archives travel with the lab's files (to a remote
    /// host too): a plan's node gets <see cref="NodePlan.Restore"/> when NODE.tar is there.
    /// </summary>
    public const string RestoreFolder = ".ltb-snapshot";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public string Root => options.SnapshotDirectory ?? Path.Combine(options.DataDirectory, "snapshots");

    public string Folder(Guid id) => Path.Combine(Root, id.ToString("N"));

    public string Staging(Guid id) => Path.Combine(Root, ".staging", id.ToString("N"));

    /// <summary>Removes a snapshot's folder and any staging of it (links inside are removed, never followed).</summary>
    public void Delete(Guid id)
    {
        FileTree.Delete(Staging(id));
        FileTree.Delete(Folder(id));
    }

    public SnapshotManifest ReadManifest(Guid id) =>
        JsonSerializer.Deserialize<SnapshotManifest>(File.ReadAllText(Path.Combine(Folder(id), ManifestFile)), Json)
        ?? throw new InvalidDataException($"snapshot {id}: its manifest is empty");

    /// <summary>
    /// Writes a snapshot out as a deployment's files into <paramref name="target"/> (a fresh folder): its files, and its node
    /// archives under <see cref="RestoreFolder"/>. Returns the topology's file name.
    /// </summary>
    public string WriteForDeployment(Guid id, string target)
    {
        var folder = Folder(id);
        CopyTree(Path.Combine(folder, FilesFolder), target);
        var nodes = Path.Combine(folder, NodesFolder);
        if (Directory.Exists(nodes) && Directory.EnumerateFiles(nodes).Any())
        {
            CopyTree(nodes, Path.Combine(target, RestoreFolder));
        }
        var manifest = ReadManifest(id);
        foreach (var node in manifest.Nodes.Where(n => n.Deleted.Count > 0 && LabSources.CheckPath(n.Name + DeletedSuffix) is null))
        {
            Directory.CreateDirectory(Path.Combine(target, RestoreFolder));
            File.WriteAllLines(Path.Combine(target, RestoreFolder, node.Name + DeletedSuffix), node.Deleted);
        }
        SnapshotResume.Write(folder, manifest, Path.Combine(target, RestoreFolder));
        return manifest.SourceFileName;
    }

    /// <summary>Beside NODE.tar in <see cref="RestoreFolder"/>: the paths the snapshot saw deleted from the node's image, one a line.</summary>
    public const string DeletedSuffix = ".deleted";

    /// <summary>The most bytes a NODE.deleted file is read (longer: the rest is not deleted, which restore reports).</summary>
    private const int DeletedFileLimit = 4 << 20;

    /// <summary>
    /// The plan with each node whose archive lies in <paramref name="deployment"/>'s <see cref="RestoreFolder"/> restored
    /// from it (a lab deployed from a snapshot, or from a template published from one), and the management addresses
    /// its resumed VMs held as hints (<see cref="SnapshotResume"/>).
    /// </summary>
    public static LabPlan AttachRestore(LabPlan plan, string deployment)
    {
        var folder = Path.Combine(deployment, RestoreFolder);
        if (!Directory.Exists(folder))
        {
            return plan;
        }
        var resumed = SnapshotResume.Attach(plan, folder);
        return resumed with
        {
            Nodes = resumed.Nodes.Select(n => RegularFile(Path.Combine(folder, n.Name + ".tar")) is { } tar ? n with { Restore = tar } : n)
                .Select(n => RegularFile(Path.Combine(folder, n.Name + DeletedSuffix)) is { } deleted ? n with { RestoreDeleted = ReadDeleted(deleted) } : n)
                .ToList(),
        };
    }

    private static string? RegularFile(string path) => File.Exists(path) && new FileInfo(path).LinkTarget is null ? path : null;

    /// <summary>A node's saved deletions, bounded (the runtime checks each path before it deletes it).</summary>
    private static string[] ReadDeleted(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read);
        var bytes = new byte[(int)Math.Min(file.Length, DeletedFileLimit)];
        file.ReadExactly(bytes);
        return System.Text.Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Bytes the folder's regular files take.</summary>
    public static long SizeOf(string folder) =>
        new DirectoryInfo(folder).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .Sum(f => f.Length);

    /// <summary>
    /// Copies folders and regular files from <paramref name="from"/> into <paramref name="to"/>; links and special files
    /// are left out (a node may have planted a link in a writable bind folder: it is never followed).
    /// </summary>
    public static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        if (!Directory.Exists(from))
        {
            return;
        }
        foreach (var entry in new DirectoryInfo(from).EnumerateFileSystemInfos())
        {
            if (entry.LinkTarget is not null)
            {
                continue;
            }
            var target = Path.Combine(to, entry.Name);
            if (entry is DirectoryInfo dir)
            {
                CopyTree(dir.FullName, target);
            }
            else if (entry is FileInfo file && (file.Attributes & FileAttributes.Device) == 0)
            {
                file.CopyTo(target, overwrite: false);
            }
        }
    }
}
