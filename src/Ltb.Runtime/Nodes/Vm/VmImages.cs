using System.Text.RegularExpressions;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// A VM image of the host's library, ready to boot: a disk (qcow2 or raw; each node gets a qcow2 overlay on it, the
/// image itself stays pristine), or a kernel with its initrd and arguments (direct kernel boot, for small images).
/// </summary>
public sealed record VmImage(string Reference, string Folder, string? Disk, string? DiskFormat, string? Kernel, string? Initrd, string KernelArgs)
{
    public bool DirectKernelBoot => Kernel is not null;
}

/// <summary>
/// The host's VM image library: a folder (<c>/var/lib/ltb/vm-images</c> by default) with one sub-folder per image and
/// version, <c>NAME/VERSION/</c> (a reference <c>ltb/tinyvm:latest</c> is <c>ltb/tinyvm/latest/</c>), holding either
/// <c>disk.qcow2</c> or <c>disk.raw</c>, or <c>kernel</c> (with <c>initrd</c> and <c>cmdline</c> optional).
/// <c>scripts/build-vm-images.sh</c> builds the test images into it; an administrator places others there. A reference
/// is a name, never a host path: what a topology may name is only what the library holds.
/// <paramref name="controllerImages"/>, when given, is searched first: the images of the controller's library
/// (<see cref="VmImageLibrary"/>), on the local host the controller's own folder, on a remote host the agent's cache of
/// what it fetched. An image the controller holds is the one its labs get, whatever the host has under that name.
/// </summary>
public sealed partial class VmImages(string root, string? controllerImages = null)
{
    public string Root { get; } = root;

    public string? ControllerImages { get; } = controllerImages;

    [GeneratedRegex(@"^[a-z0-9][a-z0-9._-]{0,62}(/[a-z0-9][a-z0-9._-]{0,62}){0,3}(:[A-Za-z0-9][A-Za-z0-9._-]{0,62})?$")]
    private static partial Regex ReferencePattern();

    /// <summary>Whether <paramref name="reference"/> is a well-formed image reference (NAME[:VERSION], no path tricks).</summary>
    public static bool IsValidReference(string reference) => ReferencePattern().IsMatch(reference) && !reference.Contains("..", StringComparison.Ordinal);

    /// <summary>
    /// The references (NAME:VERSION) of the images in the library folder <paramref name="root"/> that can boot (a
    /// kernel or a disk in their folder), at most <paramref name="max"/>: what a host tells the controller it holds, so
    /// that non-admins' topologies may name them (an admin put each one there). None when the folder does not exist.
    /// </summary>
    public static IReadOnlyList<string> List(string root, int max = 1000)
    {
        var found = new List<string>();
        if (!Directory.Exists(root))
        {
            return found;
        }
        var options = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 5, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true };
        foreach (var folder in Directory.EnumerateDirectories(root, "*", options))
        {
            if (found.Count >= max)
            {
                break;
            }
            if (!BootFiles.Any(f => File.Exists(Path.Combine(folder, f))))
            {
                continue;
            }
            var relative = Path.GetRelativePath(root, folder).Replace(Path.DirectorySeparatorChar, '/');
            var slash = relative.LastIndexOf('/');
            var reference = slash > 0 ? $"{relative[..slash]}:{relative[(slash + 1)..]}" : "";
            if (IsValidReference(reference))
            {
                found.Add(reference);
            }
        }
        return found;
    }

    /// <summary><see cref="List"/> of the library the host's runtime boots from (<see cref="Labs.RuntimeOptions.EffectiveVmImageDirectory"/>).</summary>
    public static IReadOnlyList<string> ListHostLibrary() => List(new Labs.RuntimeOptions().EffectiveVmImageDirectory);

    private static readonly string[] BootFiles = ["kernel", "disk.qcow2", "disk.raw"];

    /// <summary>The image's folder in the library, or why there is none (a message naming the image and what to do).</summary>
    public VmImage? Resolve(string reference, out string? problem)
    {
        problem = null;
        if (!IsValidReference(reference))
        {
            problem = $"'{reference}' is not a VM image name (NAME[:VERSION], lower-case letters, digits, '.', '_', '-', '/')";
            return null;
        }
        if (ControllerImages is not null && new VmImageLibrary(ControllerImages).Find(reference) is { } fetched)
        {
            return new VmImage(reference, Path.GetDirectoryName(fetched.Path)!, fetched.Path, fetched.Format, null, null, "");
        }
        var (name, version) = VmImageLibrary.Split(reference);
        var folder = Path.Combine(Root, name, version);
        string? Have(string file) => File.Exists(Path.Combine(folder, file)) ? Path.Combine(folder, file) : null;
        if (Have("kernel") is { } kernel)
        {
            var args = Have("cmdline") is { } c ? File.ReadAllText(c).Trim() : "console=ttyS0";
            return new VmImage(reference, folder, null, null, kernel, Have("initrd"), args);
        }
        if (Have("disk.qcow2") is { } qcow2)
        {
            return new VmImage(reference, folder, qcow2, "qcow2", null, null, "");
        }
        if (Have("disk.raw") is { } raw)
        {
            return new VmImage(reference, folder, raw, "raw", null, null, "");
        }
        problem = $"VM image '{reference}' is not on this host (no disk.qcow2, disk.raw or kernel in {folder}); " +
                  "add it to the controller's VM image library (ltb image vm add) or to the host's (scripts/build-vm-images.sh builds LTB's test images)";
        return null;
    }
}
