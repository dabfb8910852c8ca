using System.Security.Cryptography;
using System.Text.Json;
using Ltb.Agent.Remote;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;

namespace Ltb.Server.Labs;

/// <summary>
/// A lab's folders on the controller: DATA/labs/LAB/files/DEPLOYMENT holds the files of one deployment (upload or
/// template version), written fresh and never written again by LTB; DATA/labs/LAB/manifests/DEPLOYMENT.json lists them
/// with their SHA-256 as uploaded. Nodes on the local host mount a deployment folder (read-only unless a bind says rw),
/// so whatever a node leaves there (links above all) is never read or followed: a reconfigure compares the new upload
/// with the manifest, not with the folder, and the folder is only ever deleted (<see cref="FileTree.Delete"/>).
/// </summary>
public static class LabFolders
{
    public static string Lab(string dataDirectory, Guid labId) => Path.Combine(dataDirectory, "labs", labId.ToString("N"));

    /// <summary>The root of the lab's deployment folders (what a remote host receives folders of).</summary>
    public static string FilesRoot(string dataDirectory, Guid labId) => Path.Combine(Lab(dataDirectory, labId), "files");

    public static string Deployment(string dataDirectory, Guid labId, Guid deploymentId) =>
        Path.Combine(FilesRoot(dataDirectory, labId), deploymentId.ToString("N"));

    private static string Manifest(string dataDirectory, Guid labId, string deployment) =>
        Path.Combine(Lab(dataDirectory, labId), "manifests", deployment + ".json");

    /// <summary>
    /// Moves a deployment folder staged under another (new) lab id into the lab's files root (a rename: nothing in it is
    /// opened), with its manifest, then deletes what is left of the staging lab folder. The target must not exist.
    /// </summary>
    public static string Adopt(string dataDirectory, Guid stagingLabId, Guid labId, Guid deploymentId)
    {
        var from = Deployment(dataDirectory, stagingLabId, deploymentId);
        var to = Deployment(dataDirectory, labId, deploymentId);
        Directory.CreateDirectory(FilesRoot(dataDirectory, labId));
        Directory.CreateDirectory(Path.GetDirectoryName(Manifest(dataDirectory, labId, "x"))!);
        Directory.Move(from, to);
        File.Move(Manifest(dataDirectory, stagingLabId, deploymentId.ToString("N")), Manifest(dataDirectory, labId, deploymentId.ToString("N")));
        FileTree.Delete(Lab(dataDirectory, stagingLabId));
        return to;
    }

    /// <summary>Records what a freshly written deployment folder holds (relative path -> SHA-256), before any node sees it.</summary>
    public static void WriteManifest(string dataDirectory, Guid labId, Guid deploymentId)
    {
        var folder = Deployment(dataDirectory, labId, deploymentId);
        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (relative, entry) in FileTree.Walk(folder))
        {
            if (entry is FileInfo)
            {
                using var stream = new FileStream(entry.FullName, FileMode.Open, FileAccess.Read);
                hashes[relative] = Convert.ToHexStringLower(SHA256.HashData(stream));
            }
        }
        var path = Manifest(dataDirectory, labId, deploymentId.ToString("N"));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        JsonSerializer.Serialize(output, hashes);
    }

    /// <summary>
    /// The plan of a reconfiguration, node by node: a node that runs unchanged (the same plan once its paths point at
    /// the deployment folder it runs from, and the same uploaded files, by manifest) keeps its folder, so the host keeps
    /// it running; any other node uses the new folder and is recreated.
    /// </summary>
    public static LabPlan KeepUnchanged(string dataDirectory, Guid labId, LabPlan running, LabPlan plan, Guid deploymentId)
    {
        var root = FilesRoot(dataDirectory, labId);
        var fresh = deploymentId.ToString("N");
        var manifests = new Dictionary<string, IReadOnlyDictionary<string, string>?>(StringComparer.Ordinal);
        IReadOnlyDictionary<string, string>? ManifestOf(string folder)
        {
            if (!manifests.TryGetValue(folder, out var m))
            {
                var path = Manifest(dataDirectory, labId, folder);
                m = manifests[folder] = File.Exists(path) ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path)) : null;
            }
            return m;
        }
        var old = running.Nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        var nodes = plan.Nodes.Select(node =>
        {
            if (!old.TryGetValue(node.Name, out var before)
                || Folders(before, root) is not [var folder] || Folders(node, root) is not [var now] || now != fresh)
            {
                return node;
            }
            var moved = LabSources.Relocate(node, Path.Combine(root, fresh), Path.Combine(root, folder));
            return Names.NodeHash(moved) == Names.NodeHash(before) && SameFiles(node, root, ManifestOf(fresh), ManifestOf(folder), fresh, folder)
                ? moved
                : node;
        }).ToList();
        return plan with { Nodes = nodes };
    }

    /// <summary>Deletes the lab's deployment folders (and manifests) except <paramref name="keep"/>; keeping none deletes the lab's folder.</summary>
    public static void Prune(string dataDirectory, Guid labId, IReadOnlySet<string> keep)
    {
        if (keep.Count == 0)
        {
            FileTree.Delete(Lab(dataDirectory, labId));
            return;
        }
        foreach (var sub in new[] { "files", "manifests" })
        {
            var dir = Path.Combine(Lab(dataDirectory, labId), sub);
            if (!Directory.Exists(dir))
            {
                continue;
            }
            foreach (var entry in new DirectoryInfo(dir).EnumerateFileSystemInfos())
            {
                if (!keep.Contains(Path.GetFileNameWithoutExtension(entry.Name)))
                {
                    FileTree.Delete(entry.FullName);
                }
            }
        }
    }

    /// <summary>The deployment folders a plan's nodes use.</summary>
    public static IReadOnlySet<string> Folders(LabPlan plan, string dataDirectory, Guid labId) => LabFiles.Folders(plan, FilesRoot(dataDirectory, labId));

    private static List<string> Folders(NodePlan node, string root) =>
        LabFiles.Folders(new LabPlan { LabName = "-", Nodes = [node] }, root).ToList();

    /// <summary>Whether every uploaded file under the node's host paths is the same in both manifests (none missing, none added).</summary>
    private static bool SameFiles(NodePlan node, string root, IReadOnlyDictionary<string, string>? fresh,
        IReadOnlyDictionary<string, string>? before, string freshFolder, string beforeFolder)
    {
        if (fresh is null || before is null)
        {
            return false;
        }
        var prefix = Path.Combine(root, freshFolder);
        foreach (var path in node.Binds.Select(b => b.HostPath).Append(node.StartupConfig?.HostFile).OfType<string>())
        {
            if (!FileTree.IsUnder(path, prefix))
            {
                continue;
            }
            var relative = Path.GetRelativePath(prefix, path).Replace(Path.DirectorySeparatorChar, '/');
            bool Covers(string file) => relative == "." || file == relative || file.StartsWith(relative + "/", StringComparison.Ordinal);
            var a = fresh.Where(kv => Covers(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
            var b = before.Where(kv => Covers(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
            if (!a.SequenceEqual(b))
            {
                return false;
            }
        }
        return true;
    }
}
