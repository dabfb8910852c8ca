using System.Formats.Tar;
using System.Text;
using System.Text.Json;
using Ltb.Runtime.Network;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// A VM node's snapshot and restore (issue #15): its disk state, the qcow2 overlay over its pristine base image. Saving
/// pauses the guest (QMP <c>stop</c>: QEMU drains and flushes the disk first), copies the overlay next to it and lets
/// the guest run again (<c>cont</c>, whatever happened), so the copy is crash-consistent (as after a power cut) and the
/// pause lasts only a local copy. The copy is made stand-alone (it names no host path) and streamed with the base's
/// identity (<see cref="VmDiskBase"/>). Restoring checks the saved file (<see cref="SavedOverlay"/>), refuses another
/// base, and rebases it onto this host's copy of the base before QEMU starts: a header is never trusted.
/// A node type with <c>snapshot-guest: poweroff</c> powers the guest down instead and boots it again (<see cref="VmPowerOffCopy"/>).
/// With memory (<see cref="NodeSnapshotRequest.Memory"/>) the same pause also saves its RAM state (<see cref="VmRamState"/>),
/// which a restore loads into the new QEMU so the guest runs on where it was instead of booting; without, a restored VM
/// boots from its saved disk.
/// </summary>
internal sealed class VmDiskSnapshots(IHostNetwork host)
{
    private static readonly TimeSpan QemuImgTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan QmpTimeout = TimeSpan.FromSeconds(30);
    private const int MaxBaseEntryBytes = 64 << 10;

    /// <summary>
    /// Writes the node's <see cref="NodeSnapshotStream"/> (base, disk, with <paramref name="memory"/> its RAM state, warnings)
    /// to <paramref name="output"/>, at most <paramref name="limit"/> bytes of disk and RAM state.
    /// </summary>
    public async Task WriteAsync(VmNodeFiles files, VmNodeRecord record, VmImage image, long limit, bool memory, List<string> warnings, Stream output,
        CancellationToken ct)
    {
        await using var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        if (image.DirectKernelBoot)
        {
            await WriteTextAsync(tar, NodeSnapshotStream.WarningsEntry, string.Join('\n', warnings.Append(
                $"it boots {image.Reference} from a kernel without a disk: nothing of its state is saved (it starts afresh when restored)")), ct);
            return;
        }
        var overlay = new FileInfo(files.Overlay);
        if (overlay.Length > limit)
        {
            throw TooLarge(files, overlay.Length, limit);
        }
        var diskBase = await VmDiskBase.OfAsync(image, ct);
        if (memory && record.SnapshotPowerOff)
        {
            // Decided: the disk only, with a warning, rather than refusing the lab's whole snapshot for one node type.
            warnings.Add("its node type powers the guest off for a snapshot (snapshot-guest: poweroff): its RAM state cannot be saved, only its disk (it boots when restored)");
            memory = false;
        }
        var copy = Path.Combine(files.Folder, $"snapshot-{Guid.NewGuid():N}.qcow2");
        var ram = memory ? Path.ChangeExtension(copy, ".ram") : null;
        try
        {
            if (record.SnapshotPowerOff)
            {
                await PoweredOffAsync(files, () => VmPowerOffCopy.CopyAsync(files, record, copy, ct), ct);
            }
            else
            {
                var ramLimit = Math.Min(VmRamState.Limit(record.MemoryBytes), limit - overlay.Length);
                await CopyPausedAsync(files, copy, ram is null ? null : q => VmRamState.SaveAsync(q, files, ram, ramLimit, RamTimeout(record), ct), ct);
            }
            // Stand-alone: the copy names no backing file (no host path in the user's snapshot); restore names the base again.
            await QemuImgAsync(files, "the saved disk could not be detached from its base", ["rebase", "-u", "-f", "qcow2", "-b", "", copy], ct);
            var size = new FileInfo(copy).Length + (ram is null ? 0 : new FileInfo(ram).Length);
            if (size > limit)
            {
                throw TooLarge(files, size, limit);
            }
            await WriteTextAsync(tar, NodeSnapshotStream.DiskBaseEntry, JsonSerializer.Serialize(diskBase, VmDiskBase.Json), ct);
            await using (var disk = new FileStream(copy, FileMode.Open, FileAccess.Read))
            {
                await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, NodeSnapshotStream.DiskEntry) { DataStream = disk }, ct);
            }
            if (ram is not null)
            {
                await using var state = new FileStream(ram, FileMode.Open, FileAccess.Read);
                await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, NodeSnapshotStream.RamEntry) { DataStream = state }, ct);
            }
            await WriteTextAsync(tar, NodeSnapshotStream.WarningsEntry, string.Join('\n', warnings), ct);
        }
        finally
        {
            File.Delete(copy);
            if (ram is not null)
            {
                File.Delete(ram);
            }
        }
    }

    /// <summary>How long saving or loading a guest's RAM state may take: a minute, and a second more per 8 MiB of its RAM.</summary>
    public static TimeSpan RamTimeout(VmNodeRecord record) => TimeSpan.FromSeconds(60 + record.MemoryBytes / (8 << 20));

    /// <summary>QEMU's own failures of a power-off copy as the node's (the guest's refusal to power off names itself).</summary>
    private static async Task PoweredOffAsync(VmNodeFiles files, Func<Task> copy, CancellationToken ct)
    {
        try
        {
            await copy();
        }
        catch (Exception e) when (e is QmpException or System.Net.Sockets.SocketException or IOException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            throw new LabRuntimeException(files.Lab, files.Node, $"its disk could not be saved with the guest powered off: {e.Message}", e);
        }
    }

    /// <summary>
    /// Pauses the guest (unless it was paused already), copies its overlay, saves its RAM state in the same pause
    /// (<paramref name="saveRam"/>, when asked), and lets it run again in any case.
    /// </summary>
    private static async Task CopyPausedAsync(VmNodeFiles files, string copy, Func<QmpClient, Task>? saveRam, CancellationToken ct)
    {
        try
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
            bounded.CancelAfter(QmpTimeout);
            await using var qmp = await QmpClient.ConnectAsync(files.QmpSocket, bounded.Token);
            var wasRunning = (await qmp.ExecuteAsync("query-status", null, bounded.Token))?["running"]?.GetValue<bool>() ?? true;
            await qmp.ExecuteAsync("stop", null, bounded.Token);
            try
            {
                File.Copy(files.Overlay, copy);
                if (saveRam is not null)
                {
                    // Paused since before the copy: RAM and disk are of one instant. QEMU ends it in postmigrate; cont runs the guest from there.
                    await saveRam(qmp);
                }
            }
            finally
            {
                if (wasRunning)
                {
                    // Not the caller's token: a cancelled snapshot still leaves the VM running.
                    using var resume = new CancellationTokenSource(QmpTimeout);
                    await qmp.ExecuteAsync("cont", null, resume.Token);
                }
            }
        }
        catch (Exception e) when (e is QmpException or System.Net.Sockets.SocketException or IOException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            throw new LabRuntimeException(files.Lab, files.Node, $"its disk could not be saved: {e.Message}", e);
        }
    }

    /// <summary>
    /// Makes the node's overlay from a saved one (<paramref name="archive"/>: the node's part of a snapshot, a tar of
    /// <see cref="NodeSnapshotStream.DiskBaseEntry"/> and <see cref="NodeSnapshotStream.DiskEntry"/>) over this host's
    /// <paramref name="image"/>; refuses, naming the node and what to do, a different base or a disk that is not a
    /// stand-alone qcow2. A saved RAM state (at most <see cref="VmRamState.Limit"/> of <paramref name="memoryBytes"/>) is
    /// put where the node's start loads it (<see cref="VmNodeFiles.IncomingRam"/>). Nothing is left of a refused one.
    /// </summary>
    public async Task RestoreAsync(VmNodeFiles files, VmImage image, string archive, long memoryBytes, CancellationToken ct)
    {
        if (image.DirectKernelBoot)
        {
            throw new LabRuntimeException(files.Lab, files.Node, $"its saved disk cannot be restored: {image.Reference} boots from a kernel without a disk");
        }
        var incoming = files.Overlay + ".incoming";
        File.Delete(files.IncomingRam);
        var restored = false;
        try
        {
            var saved = await ExtractAsync(files, archive, incoming, memoryBytes, ct);
            var here = await VmDiskBase.OfAsync(image, ct);
            if (saved.Image != here.Image || saved.Sha256 != here.Sha256)
            {
                throw new LabRuntimeException(files.Lab, files.Node, $"its saved disk was taken over VM image {saved.Image} (SHA-256 {saved.Sha256}); " +
                    $"this host's {here.Image} has SHA-256 {here.Sha256}: a saved disk is restored over the very same base image only " +
                    "(add that version of the image to the VM image library, or deploy the topology without the snapshot)");
            }
            if (await SavedOverlay.ProblemAsync(host, incoming, image.Disk!, image.DiskFormat!, ct) is { } problem)
            {
                throw new LabRuntimeException(files.Lab, files.Node, $"{problem}; it cannot be restored (a damaged or hand-made snapshot?)");
            }
            await QemuImgAsync(files, "its saved disk could not be put over its base image",
                ["rebase", "-u", "-f", "qcow2", "-b", image.Disk!, "-F", image.DiskFormat!, incoming], ct);
            File.Move(incoming, files.Overlay, overwrite: true);
            restored = true;
        }
        finally
        {
            File.Delete(incoming);
            if (!restored)
            {
                File.Delete(files.IncomingRam);
            }
        }
    }

    /// <summary>
    /// The saved base (read whole, bounded), the disk (written to <paramref name="disk"/>) and the RAM state if any (to
    /// <see cref="VmNodeFiles.IncomingRam"/>, bounded by the guest's RAM); any other entry is refused.
    /// </summary>
    private static async Task<VmDiskBase> ExtractAsync(VmNodeFiles files, string archive, string disk, long memoryBytes, CancellationToken ct)
    {
        VmDiskBase? saved = null;
        var hasDisk = false;
        try
        {
            await using var input = new FileStream(archive, FileMode.Open, FileAccess.Read);
            await using var tar = new TarReader(input);
            while (await tar.GetNextEntryAsync(copyData: false, ct) is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                {
                    throw new InvalidDataException($"'{entry.Name}' is not a regular file");
                }
                if (entry.Name == NodeSnapshotStream.DiskBaseEntry)
                {
                    saved = entry.Length > MaxBaseEntryBytes
                        ? throw new InvalidDataException($"'{entry.Name}' is larger than {MaxBaseEntryBytes >> 10} KiB") :
                        await JsonSerializer.DeserializeAsync<VmDiskBase>(entry.DataStream, VmDiskBase.Json, ct);
                }
                else if (entry.Name == NodeSnapshotStream.DiskEntry)
                {
                    await using var output = new FileStream(disk, FileMode.Create, FileAccess.Write);
                    await entry.DataStream.CopyToAsync(output, ct);
                    hasDisk = true;
                }
                else if (entry.Name == NodeSnapshotStream.RamEntry)
                {
                    await ExtractRamAsync(files, entry, memoryBytes, ct);
                }
                else
                {
                    throw new InvalidDataException($"'{entry.Name}' is not part of a VM node's saved state");
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or EndOfStreamException)
        {
            throw new LabRuntimeException(files.Lab, files.Node, $"its saved state is not a VM disk snapshot ({e.Message}); it cannot be restored", e);
        }
        return saved is { Image: not null, Sha256: not null } && hasDisk ? saved
            : throw new LabRuntimeException(files.Lab, files.Node,
                $"its saved state lacks {(hasDisk ? NodeSnapshotStream.DiskBaseEntry : NodeSnapshotStream.DiskEntry)}; it cannot be restored");
    }

    /// <summary>The saved RAM state into the node's folder (0600: it is the guest's memory), refused when larger than its RAM allows.</summary>
    private static async Task ExtractRamAsync(VmNodeFiles files, TarEntry entry, long memoryBytes, CancellationToken ct)
    {
        if (VmRamState.SizeProblem(entry.Length, memoryBytes) is { } problem)
        {
            throw new LabRuntimeException(files.Lab, files.Node, $"{problem} (the topology gives it less memory than when the snapshot was taken, or the snapshot is damaged); it cannot be restored");
        }
        await using var output = VmRamState.CreatePrivate(files.IncomingRam, FileMode.CreateNew);
        await VmRamState.CopyBoundedAsync(entry.DataStream!, output, VmRamState.Limit(memoryBytes), files, ct);
    }

    private async Task QemuImgAsync(VmNodeFiles files, string failure, IReadOnlyList<string> args, CancellationToken ct)
    {
        var run = await host.RunAsync("qemu-img", args, null, QemuImgTimeout, ct);
        if (!run.Succeeded)
        {
            throw new LabRuntimeException(files.Lab, files.Node, $"{failure}: {run.Stderr.Trim()}");
        }
    }

    private static LabRuntimeException TooLarge(VmNodeFiles files, long size, long limit) =>
        new(files.Lab, files.Node, $"its disk overlay takes {size >> 20} MiB, more than the {limit >> 20} MiB this snapshot may take (free space by deleting snapshots)");

    private static async Task WriteTextAsync(TarWriter tar, string name, string text, CancellationToken ct) =>
        await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) }, ct);
}
