using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ltb.Runtime.Network;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// The base image a VM node's saved disk was taken over (<see cref="NodeSnapshotStream.DiskBaseEntry"/>): its reference,
/// format, SHA-256 and size. A saved overlay holds only what the guest wrote over its base, so it is restored over the
/// very same base or not at all.
/// </summary>
public sealed record VmDiskBase(string Image, string Format, string Sha256, long SizeBytes)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// The base of <paramref name="image"/> (a disk image) as this host has it: the checksum a verifying library wrote
    /// beside it (<see cref="VmImageLibrary.ChecksumFile"/>, when it is of this very file), else the disk hashed now.
    /// </summary>
    public static async Task<VmDiskBase> OfAsync(VmImage image, CancellationToken ct)
    {
        var disk = new FileInfo(image.Disk!);
        var reference = VmImageLibrary.Normalize(image.Reference);
        try
        {
            var parts = (await File.ReadAllTextAsync(Path.Combine(image.Folder, VmImageLibrary.ChecksumFile), ct))
                .Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var size) && size == disk.Length)
            {
                return new VmDiskBase(reference, image.DiskFormat!, parts[0], size);
            }
        }
        catch (IOException)
        {
            // No checksum beside it (the host's own library): hashed below.
        }
        await using var file = new FileStream(disk.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous);
        var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
        return new VmDiskBase(reference, image.DiskFormat!, sha, disk.Length);
    }
}

/// <summary>
/// Checks of a saved overlay before QEMU or qemu-img opens it for a node: a qcow2 from an imported archive is the
/// user's file, and its header may name any host file as its backing or external data file (docs/security.md).
/// </summary>
internal static class SavedOverlay
{
    /// <summary>
    /// Refuses (a message naming what is wrong) anything but a stand-alone qcow2 (<see cref="StandAloneQcow2"/>) whose
    /// virtual size is the base's.
    /// </summary>
    public static async Task<string?> ProblemAsync(IHostNetwork host, string overlay, string baseDisk, string baseFormat, CancellationToken ct)
    {
        JsonNode info;
        try
        {
            info = await StandAloneQcow2.CheckAsync(host, overlay, ct);
        }
        catch (VmImageRefusedException e)
        {
            return $"its saved disk is refused: {e.Message}";
        }
        var baseInfo = await StandAloneQcow2.InfoAsync(host, baseDisk, baseFormat, ct);
        if (baseInfo is null)
        {
            return "qemu-img cannot read its base image";
        }
        var size = info["virtual-size"]?.GetValue<long>();
        var baseSize = baseInfo["virtual-size"]?.GetValue<long>();
        return size == baseSize ? null : $"its saved disk has {size} bytes of virtual size, its base image {baseSize}";
    }
}
