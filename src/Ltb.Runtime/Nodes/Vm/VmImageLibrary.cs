using System.Buffers.Binary;
using System.Globalization;
using Ltb.Runtime.Files;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>A disk image of a <see cref="VmImageLibrary"/>: where it is, its format, SHA-256 (lower-case hex) and size.</summary>
public sealed record VmImageDisk(string Name, string Version, string Format, string Path, string Sha256, long SizeBytes)
{
    public string Reference => $"{Name}:{Version}";
}

/// <summary>A disk refused by <see cref="VmImageLibrary.WriteAsync"/>: the message says what is wrong and what to do.</summary>
public sealed class VmImageRefusedException(string message, bool tooLarge = false) : Exception(message)
{
    /// <summary>The disk was larger than the limit (an HTTP 413 rather than a 400).</summary>
    public bool TooLarge { get; } = tooLarge;
}

/// <summary>
/// A VM image library LTB writes itself, in the layout <see cref="VmImages"/> reads (<c>NAME/VERSION/disk.qcow2</c> or
/// <c>disk.raw</c>) plus <c>.sha256</c> (the disk's SHA-256 and size, written once the disk was verified): the
/// controller's library of uploaded images (<c>DATA/vm-images</c>) and each agent's cache of what it fetched from the
/// controller (<c>AGENT-DATA/vm-images</c>). A disk is written to a temporary folder, bounded in size, hashed as it
/// comes, checked (a qcow2 with a backing file or an external data file is refused: QEMU would open that host file for
/// the guest), compared with the checksum it was announced with, and only then moved into place whole.
/// </summary>
public sealed class VmImageLibrary(string root)
{
    public const string ChecksumFile = ".sha256";
    public static readonly IReadOnlyList<string> Formats = ["qcow2", "raw"];
    internal const int HeaderBytes = 512;
    private static readonly byte[] Qcow2Magic = [(byte)'Q', (byte)'F', (byte)'I', 0xfb];

    public string Root { get; } = root;

    /// <summary>NAME[:VERSION] -> (NAME, VERSION); VERSION is "latest" when left out.</summary>
    public static (string Name, string Version) Split(string reference)
    {
        var colon = reference.LastIndexOf(':');
        return colon < 0 ? (reference, "latest") : (reference[..colon], reference[(colon + 1)..]);
    }

    /// <summary>NAME:VERSION, with "latest" written out (two spellings of one image compare equal).</summary>
    public static string Normalize(string reference)
    {
        var (name, version) = Split(reference);
        return $"{name}:{version}";
    }

    public string Folder(string name, string version) => Path.Combine(Root, name, version);

    /// <summary>The verified disk of <paramref name="reference"/> in this library, or null.</summary>
    public VmImageDisk? Find(string reference)
    {
        if (!VmImages.IsValidReference(reference))
        {
            return null;
        }
        var (name, version) = Split(reference);
        var folder = Folder(name, version);
        try
        {
            var parts = File.ReadAllText(Path.Combine(folder, ChecksumFile)).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var format = Formats.FirstOrDefault(f => File.Exists(Path.Combine(folder, "disk." + f)));
            if (parts.Length != 2 || format is null || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out var size))
            {
                return null;
            }
            var disk = Path.Combine(folder, "disk." + format);
            return new FileInfo(disk).Length == size ? new VmImageDisk(name, version, format, disk, parts[0], size) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Writes the disk read from <paramref name="source"/> as NAME:VERSION (replacing what the library held under that
    /// name), at most <paramref name="maxBytes"/>; with <paramref name="expectedSha256"/> the disk must have that checksum;
    /// a null <paramref name="format"/> is read from the disk (qcow2 by its header, else raw). Refusals
    /// (<see cref="VmImageRefusedException"/>) leave nothing behind.
    /// </summary>
    public async Task<VmImageDisk> WriteAsync(string name, string version, string? format, Stream source, long maxBytes, string? expectedSha256,
        CancellationToken ct)
    {
        if (!VmImages.IsValidReference($"{name}:{version}") || name.Contains(':', StringComparison.Ordinal))
        {
            throw new VmImageRefusedException($"'{name}:{version}' is not a VM image name (NAME:VERSION: lower-case letters, digits, '.', '_', '-', '/' in the name)");
        }
        if (format is not null && !Formats.Contains(format))
        {
            throw new VmImageRefusedException($"'{format}' is not a VM disk format LTB takes: give qcow2 or raw");
        }
        Directory.CreateDirectory(Root);
        var staging = Path.Combine(Root, $".incoming-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            var incoming = Path.Combine(staging, "disk.incoming");
            var (sha256, size, header) = await CopyAsync(source, incoming, maxBytes, ct);
            format ??= header.AsSpan().StartsWith(Qcow2Magic) ? "qcow2" : "raw";
            CheckHeader(format, header, size);
            File.Move(incoming, Path.Combine(staging, "disk." + format));
            if (expectedSha256 is not null && !string.Equals(expectedSha256.Trim(), sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new VmImageRefusedException($"the disk's SHA-256 is {sha256}, not {expectedSha256.Trim()} as announced: the upload was damaged " +
                    "or the checksum belongs to another file; nothing was kept");
            }
            await File.WriteAllTextAsync(Path.Combine(staging, ChecksumFile), $"{sha256} {size.ToString(CultureInfo.InvariantCulture)}\n", ct);
            var folder = Folder(name, version);
            Directory.CreateDirectory(Path.GetDirectoryName(folder)!);
            Remove(folder);
            Directory.Move(staging, folder);
            return new VmImageDisk(name, version, format, Path.Combine(folder, "disk." + format), sha256, size);
        }
        finally
        {
            Remove(staging);
        }
    }

    private static async Task<(string Sha256, long Size, byte[] Header)> CopyAsync(Stream source, string path, long maxBytes, CancellationToken ct)
    {
        CopiedBytes copied;
        await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            copied = await BoundedCopy.CopyHashedAsync(source, file, maxBytes, () => new VmImageRefusedException(
                $"the disk is larger than the {maxBytes.ToString(CultureInfo.InvariantCulture)} bytes a VM image may have here " +
                "(the server's limit, LTB_VM_IMAGE_MAX_BYTES); nothing was kept", tooLarge: true), ct);
        }
        var header = new byte[Math.Min(HeaderBytes, copied.Length)];
        await using (var file = File.OpenRead(path))
        {
            await file.ReadExactlyAsync(header, ct);
        }
        return (copied.Sha256, copied.Length, header);
    }

    /// <summary>
    /// A qcow2 must be one (magic, version 2 or 3) and stand alone: its header names no backing file and no external data
    /// file, either of which QEMU would open on the host for the guest (any file the QEMU process may read). A raw disk
    /// must not be a qcow2 in disguise.
    /// </summary>
    internal static void CheckHeader(string format, byte[] header, long size)
    {
        if (size < HeaderBytes)
        {
            throw new VmImageRefusedException($"the disk has {size} bytes: too small to be a VM disk (a file was sent by mistake?)");
        }
        var isQcow2 = header.AsSpan(0, 4).SequenceEqual(Qcow2Magic);
        if (format == "raw")
        {
            if (isQcow2)
            {
                throw new VmImageRefusedException("the disk is a qcow2 image, not raw: add it with format qcow2");
            }
            return;
        }
        if (!isQcow2)
        {
            throw new VmImageRefusedException("the disk is not a qcow2 image (no qcow2 header): give its real format (raw), or convert it with qemu-img convert -O qcow2");
        }
        var version = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
        var backingFileOffset = BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8));
        if (version is not (2 or 3))
        {
            throw new VmImageRefusedException($"the disk is a qcow2 of version {version}; LTB takes versions 2 and 3");
        }
        if (backingFileOffset != 0)
        {
            throw new VmImageRefusedException("the qcow2 disk names a backing file (it is an overlay): make it stand alone first, " +
                "e.g. qemu-img convert -O qcow2 overlay.qcow2 standalone.qcow2");
        }
        // Version 3: incompatible feature bit 2 is "external data file" (the data lives in another host file).
        if (version == 3 && (BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(72)) & 0x4) != 0)
        {
            throw new VmImageRefusedException("the qcow2 disk keeps its data in an external data file: convert it into one file (qemu-img convert -O qcow2)");
        }
    }

    /// <summary>Removes NAME:VERSION from the library (and the folders it leaves empty).</summary>
    public void Delete(string name, string version)
    {
        var folder = Folder(name, version);
        Remove(folder);
        for (var parent = Path.GetDirectoryName(folder); parent is not null && parent.Length > Root.TrimEnd('/').Length
             && Directory.Exists(parent) && !Directory.EnumerateFileSystemEntries(parent).Any(); parent = Path.GetDirectoryName(parent))
        {
            Directory.Delete(parent);
        }
    }

    private static void Remove(string folder)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
