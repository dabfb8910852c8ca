using System.Formats.Tar;
using System.IO.Compression;
using Ltb.Runtime.Plan;

namespace Ltb.Agent.Remote;

/// <summary>
/// A lab's own files (uploaded startup configs, binds of uploaded files) on their way to a remote host. The controller
/// keeps one folder per deployment under the lab's files root (ROOT/DEPLOYMENT/...); it packs the folders the plan uses,
/// the agent unpacks each into a fresh folder of its own (one it already has stays as it is: running nodes mount it)
/// and points the plan there. Neither end follows a link (<see cref="FileTree"/>); paths outside the root (host-path
/// binds, an admin-only feature) are left as they are: they name the host's own files.
/// </summary>
public static class LabFiles
{
    /// <summary>Whether the plan refers to anything under <paramref name="root"/> (only then is the folder shipped).</summary>
    public static bool Uses(LabPlan plan, string root) => Folders(plan, root).Count > 0;

    /// <summary>The deployment folders (first level under <paramref name="root"/>) the plan's host paths lie in.</summary>
    public static IReadOnlySet<string> Folders(LabPlan plan, string root) => plan.Nodes
        .SelectMany(n => n.Binds.Select(b => b.HostPath).Append(n.StartupConfig?.HostFile ?? "").Append(n.Restore ?? ""))
        .Where(p => p.Length > 0)
        .Select(p => FileTree.TopFolder(p, root))
        .OfType<string>()
        .ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// A tar.gz of <paramref name="folders"/> under <paramref name="root"/>, entries named FOLDER/PATH: folders and
    /// regular files only (a link is refused, naming it).
    /// </summary>
    public static byte[] Pack(string root, IEnumerable<string> folders)
    {
        using var buffer = new MemoryStream();
        Pack(root, folders, buffer);
        return buffer.ToArray();
    }

    /// <summary>The same tar.gz written to <paramref name="output"/> (left open): a snapshot's saved disks can be gigabytes.</summary>
    public static void Pack(string root, IEnumerable<string> folders, Stream output)
    {
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var folder in folders.Order(StringComparer.Ordinal))
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, folder + "/"));
                foreach (var (relative, entry) in FileTree.Walk(Path.Combine(root, folder)))
                {
                    var name = $"{folder}/{relative}";
                    if (entry is DirectoryInfo)
                    {
                        tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name + "/"));
                        continue;
                    }
                    using var data = new FileStream(entry.FullName, FileMode.Open, FileAccess.Read);
                    tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = data });
                }
            }
        }
    }

    /// <summary>
    /// Unpacks into <paramref name="target"/>: each deployment folder of the archive into a fresh folder (written in a
    /// new temporary folder, then renamed into place); a folder the agent has already is kept as it is. Only folders
    /// and regular files are accepted, with relative names; every file is created new (never opened through a link).
    /// </summary>
    public static void Unpack(byte[] tarGz, string target) => Unpack(new MemoryStream(tarGz), target);

    /// <inheritdoc cref="Unpack(byte[], string)"/>
    public static void Unpack(Stream tarGz, string target)
    {
        Directory.CreateDirectory(target);
        var incoming = Path.Combine(target, ".incoming-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(incoming);
        try
        {
            var fresh = new HashSet<string>(StringComparer.Ordinal);
            using (var gzip = new GZipStream(tarGz, CompressionMode.Decompress))
            using (var tar = new TarReader(gzip))
            {
                while (tar.GetNextEntry() is { } entry)
                {
                    var name = CheckName(entry.Name.TrimEnd('/'));
                    var folder = name.Split('/')[0];
                    if (!fresh.Contains(folder))
                    {
                        if (Exists(Path.Combine(target, folder)))
                        {
                            continue; // the agent has this deployment's files already: its running nodes mount them
                        }
                        fresh.Add(folder);
                        Directory.CreateDirectory(Path.Combine(incoming, folder));
                    }
                    Extract(entry, Path.Combine(incoming, name), name);
                }
            }
            foreach (var folder in fresh)
            {
                Directory.Move(Path.Combine(incoming, folder), Path.Combine(target, folder));
            }
        }
        finally
        {
            FileTree.Delete(incoming);
        }
    }

    /// <summary>Deletes the deployment folders under <paramref name="target"/> that the plan no longer uses.</summary>
    public static void Prune(string target, IReadOnlySet<string> keep)
    {
        if (!Directory.Exists(target))
        {
            return;
        }
        foreach (var entry in new DirectoryInfo(target).EnumerateFileSystemInfos())
        {
            if (!keep.Contains(entry.Name) && !entry.Name.StartsWith(".incoming-", StringComparison.Ordinal))
            {
                FileTree.Delete(entry.FullName);
            }
        }
    }

    private static void Extract(TarEntry entry, string path, string name)
    {
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                Directory.CreateDirectory(path);
                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
                {
                    entry.DataStream?.CopyTo(file);
                }
                break;
            default:
                throw new IOException($"'{name}' in the lab's files is a {entry.EntryType}; only folders and regular files are accepted");
        }
    }

    private static string CheckName(string name)
    {
        if (name.Length == 0 || name.StartsWith('/') || name.Split('/').Any(p => p is "" or "." or ".."))
        {
            throw new IOException($"'{name}' in the lab's files is not a plain relative path");
        }
        return name;
    }

    private static bool Exists(string path) => Directory.Exists(path) || File.Exists(path) || new FileInfo(path).LinkTarget is not null;

    /// <summary>The plan with every path under <paramref name="from"/> moved under <paramref name="to"/>.</summary>
    public static LabPlan Rebase(LabPlan plan, string from, string to) => plan with
    {
        Nodes = plan.Nodes.Select(n => n with
        {
            Binds = n.Binds.Select(b => b with { HostPath = Move(b.HostPath, from, to) }).ToList(),
            StartupConfig = n.StartupConfig is { HostFile: { } file } sc ? sc with { HostFile = Move(file, from, to) } : n.StartupConfig,
            Restore = n.Restore is { } restore ? Move(restore, from, to) : null,
        }).ToList(),
    };

    private static string Move(string path, string from, string to) =>
        FileTree.IsUnder(path, from) ? Path.Combine(to, Path.GetRelativePath(from, path)) : path;
}
