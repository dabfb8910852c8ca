using System.Text.Json.Nodes;
using Ltb.Runtime.Network;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// The check of a qcow2 that came from a user (a disk inside a container image, a saved disk in an imported snapshot)
/// before QEMU boots it: it must stand alone. A backing file or an external data file named in it would make QEMU or
/// qemu-img open that host file for the guest (docs/security.md).
/// </summary>
internal static class StandAloneQcow2
{
    private static readonly TimeSpan QemuImgTimeout = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Refuses (<see cref="VmImageRefusedException"/>, saying what is wrong) anything but a stand-alone qcow2: its header
    /// first (<see cref="VmImageLibrary.CheckHeader"/>, read by LTB before any program opens the file), then
    /// <c>qemu-img info</c> with the format forced (no probing; -U: a base may be open by running VMs) must agree.
    /// Answers qemu-img's description of it.
    /// </summary>
    public static async Task<JsonNode> CheckAsync(IHostNetwork host, string path, CancellationToken ct)
    {
        var header = new byte[VmImageLibrary.HeaderBytes];
        int read;
        await using (var file = File.OpenRead(path))
        {
            read = await file.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, ct);
        }
        VmImageLibrary.CheckHeader("qcow2", header.AsSpan(0, read).ToArray(), new FileInfo(path).Length);
        var info = await InfoAsync(host, path, "qcow2", ct)
            ?? throw new VmImageRefusedException("it is not a qcow2 disk qemu-img can read");
        if (info["backing-filename"]?.GetValue<string>() is { } backing)
        {
            throw new VmImageRefusedException($"it names a backing file ({backing}), which QEMU would open on the host");
        }
        if (info["format-specific"]?["data"]?["data-file"]?.GetValue<string>() is { } external)
        {
            throw new VmImageRefusedException($"it keeps its data in an external file ({external}), which QEMU would open on the host");
        }
        return info;
    }

    /// <summary>qemu-img's description of a disk of <paramref name="format"/> (opened shared, no backing file), or null when it cannot read it.</summary>
    public static async Task<JsonNode?> InfoAsync(IHostNetwork host, string path, string format, CancellationToken ct)
    {
        var info = await host.RunAsync("qemu-img", ["info", "-U", "-f", format, "--output=json", path], null, QemuImgTimeout, ct);
        try
        {
            return info.Succeeded ? JsonNode.Parse(info.Stdout) : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
