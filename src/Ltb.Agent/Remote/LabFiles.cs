using System.Formats.Tar;
using System.IO.Compression;
using Ltb.Runtime.Plan;

namespace Ltb.Agent.Remote;

/// <summary>
/// A lab's own files (uploaded startup configs, binds of uploaded files) on their way to a remote host: the controller
/// packs its lab folder, the agent unpacks it into its state folder and points the plan there. Paths outside the lab
/// folder (host-path binds, an admin-only feature) are left as they are: they name the host's own files.
/// </summary>
public static class LabFiles
{
    /// <summary>Whether the plan refers to anything under <paramref name="root"/> (only then is the folder shipped).</summary>
    public static bool Uses(LabPlan plan, string root) =>
        plan.Nodes.Any(n => n.Binds.Any(b => IsUnder(b.HostPath, root)) || (n.StartupConfig?.HostFile is { } f && IsUnder(f, root)));

    public static byte[] Pack(string root)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            TarFile.CreateFromDirectory(root, gzip, includeBaseDirectory: false);
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// Unpacks into <paramref name="target"/>, over what an earlier deployment left (a running node keeps its bind
    /// mounts while the lab is changed); .NET refuses entries that would land outside the folder.
    /// </summary>
    public static void Unpack(byte[] tarGz, string target)
    {
        Directory.CreateDirectory(target);
        using var gzip = new GZipStream(new MemoryStream(tarGz), CompressionMode.Decompress);
        TarFile.ExtractToDirectory(gzip, target, overwriteFiles: true);
    }

    /// <summary>The plan with every path under <paramref name="from"/> moved under <paramref name="to"/>.</summary>
    public static LabPlan Rebase(LabPlan plan, string from, string to) => plan with
    {
        Nodes = plan.Nodes.Select(n => n with
        {
            Binds = n.Binds.Select(b => b with { HostPath = Move(b.HostPath, from, to) }).ToList(),
            StartupConfig = n.StartupConfig is { HostFile: { } file } sc ? sc with { HostFile = Move(file, from, to) } : n.StartupConfig,
        }).ToList(),
    };

    private static string Move(string path, string from, string to) =>
        IsUnder(path, from) ? Path.Combine(to, Path.GetRelativePath(from, path)) : path;

    private static bool IsUnder(string path, string root)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        return full == dir || full.StartsWith(dir + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }
}
