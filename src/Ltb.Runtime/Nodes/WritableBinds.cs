using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Nodes;

/// <summary>
/// Makes a node's `:rw` binds of its lab's own files writable for it under user-namespace remapping. There, root in the
/// node is an unprivileged host uid (the engine's remapped root, e.g. 100000), so files LTB wrote as root are read-only
/// to it. Only binds of the lab's uploaded files (<see cref="BindMount.LabFile"/>) change owner, never a host path an
/// administrator binds, and links are never followed (each deployment folder is fresh and holds no links anyway).
/// </summary>
internal static partial class WritableBinds
{
    private static readonly ConditionalWeakTable<DockerEngine, Task<(uint Uid, uint Gid)?>> RemappedRoots = new();

    public static async Task PrepareAsync(DockerEngine engine, NodePlan node, CancellationToken ct)
    {
        var binds = node.Binds.Where(b => b.LabFile && b.Mode.Split(',').Contains("rw")).ToList();
        if (binds.Count == 0 || await RemappedRootAsync(engine, ct) is not { } root)
        {
            return;
        }
        foreach (var bind in binds)
        {
            Chown(new FileInfo(bind.HostPath), root);
            if (Directory.Exists(bind.HostPath) && new DirectoryInfo(bind.HostPath).LinkTarget is null)
            {
                foreach (var entry in new DirectoryInfo(bind.HostPath).EnumerateFileSystemInfos("*", new EnumerationOptions
                {
                    RecurseSubdirectories = true,
                    AttributesToSkip = FileAttributes.ReparsePoint, // never descend through a link
                }))
                {
                    Chown(entry, root);
                }
            }
        }
    }

    /// <summary>The host uid/gid root in a container maps to: the engine's data root ends in `/UID.GID` when it remaps.</summary>
    private static Task<(uint Uid, uint Gid)?> RemappedRootAsync(DockerEngine engine, CancellationToken ct) =>
        RemappedRoots.GetValue(engine, e => ReadRemappedRootAsync(e, ct));

    private static async Task<(uint Uid, uint Gid)?> ReadRemappedRootAsync(DockerEngine engine, CancellationToken ct)
    {
        var info = await engine.Client.System.GetSystemInfoAsync(ct);
        if (!(info.SecurityOptions ?? []).Any(o => o.Contains("userns", StringComparison.Ordinal)))
        {
            return null;
        }
        var parts = Path.GetFileName(info.DockerRootDir ?? "").Split('.');
        return parts.Length == 2 && uint.TryParse(parts[0], out var uid) && uint.TryParse(parts[1], out var gid) ? (uid, gid) : null;
    }

    private static void Chown(FileSystemInfo entry, (uint Uid, uint Gid) root)
    {
        if (lchown(entry.FullName, root.Uid, root.Gid) != 0)
        {
            throw new IOException($"cannot give the node's root the file {entry.Name} of a writable bind (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lchown(string path, uint owner, uint group);
}
