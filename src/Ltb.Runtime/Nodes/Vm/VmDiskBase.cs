using System.Buffers.Binary;
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
    private static readonly byte[] Qcow2Magic = [(byte)'Q', (byte)'F', (byte)'I', 0xfb];
    private static readonly TimeSpan QemuImgTimeout = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Refuses (a message naming what is wrong) anything but a qcow2 (version 2 or 3) without an external data file whose
    /// virtual size is the base's; read from the header first, so that qemu-img never opens a file the header names.
    /// </summary>
    public static async Task<string?> ProblemAsync(IHostNetwork host, string overlay, string baseDisk, string baseFormat, CancellationToken ct)
    {
        var header = new byte[80];
        await using (var f = new FileStream(overlay, FileMode.Open, FileAccess.Read))
        {
            if (await f.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, ct) < header.Length || !header.AsSpan(0, 4).SequenceEqual(Qcow2Magic))
            {
                return "its saved disk is not a qcow2 image";
            }
        }
        var version = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
        // Version 3: incompatible feature bit 2 is "external data file" (the guest's data in another host file).
        if (version is not (2 or 3) || version == 3 && (BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(72)) & 0x4) != 0)
        {
            return version is 2 or 3 ? "its saved disk keeps its data in an external data file" : $"its saved disk is a qcow2 of version {version}";
        }
        // -U: the base may be open by running VMs; info opens neither a backing nor a data file here.
        var info = await InfoAsync(host, overlay, "qcow2", ct);
        var baseInfo = await InfoAsync(host, baseDisk, baseFormat, ct);
        if (info is null || baseInfo is null)
        {
            return "qemu-img cannot read its saved disk";
        }
        if (info["format"]?.GetValue<string>() != "qcow2" || info["format-specific"]?["data"]?["data-file"] is not null)
        {
            return "its saved disk is not a stand-alone qcow2 image";
        }
        var size = info["virtual-size"]?.GetValue<long>();
        var baseSize = baseInfo["virtual-size"]?.GetValue<long>();
        return size == baseSize ? null : $"its saved disk has {size} bytes of virtual size, its base image {baseSize}";
    }

    private static async Task<JsonNode?> InfoAsync(IHostNetwork host, string path, string format, CancellationToken ct)
    {
        var info = await host.RunAsync("qemu-img", ["info", "-U", "-f", format, "--output=json", path], null, QemuImgTimeout, ct);
        try
        {
            return info.Succeeded ? JsonNode.Parse(info.Stdout) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
