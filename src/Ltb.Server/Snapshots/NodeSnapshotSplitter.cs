using System.Formats.Tar;
using System.Text;
using System.Text.Json;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Nodes.Vm;
using Ltb.Server.Labs;

namespace Ltb.Server.Snapshots;

/// <summary>A writable lab file a node binds: its path in the node and relative to the lab's files.</summary>
public sealed record SnapshotBind(string ContainerPath, string RelativePath);

/// <summary>
/// What one node's part of a snapshot held besides its archive; a VM node's base image digest (<c>sha256:HEX</c> of the disk
/// its saved overlay lies over), which an export names as the node's image digest.
/// </summary>
/// <param name="Memory">A VM node's RAM state is in its archive (<see cref="NodeSnapshotStream.RamEntry"/>).</param>
public sealed record NodeSnapshotParts(bool Archive, IReadOnlyList<string> Deleted, IReadOnlyList<string> Warnings, string? BaseDigest = null,
    bool Memory = false);

/// <summary>
/// Turns one node's <see cref="NodeSnapshotStream"/> (as received from its host) into the snapshot's parts: the bound lab
/// files and the running configuration go into the snapshot's <c>files/</c> where the lab reads them at deployment, the
/// filesystem changes into <c>nodes/NODE.tar</c> (entries relative to the node's root, as the engine takes them back); a VM
/// node's disk, its RAM state and its base image's identity go into <c>nodes/NODE.tar</c> as they came (the VM driver reads them back).
/// Names are checked like uploads (<see cref="LabSources.CheckPath"/>): nothing lands outside the snapshot's folder.
/// </summary>
public static class NodeSnapshotSplitter
{
    public static async Task<NodeSnapshotParts> SplitAsync(string stream, string node, IReadOnlyList<SnapshotBind> binds, string? configPath,
        string snapshotFolder, CancellationToken ct)
    {
        var files = Path.Combine(snapshotFolder, SnapshotStore.FilesFolder);
        var archivePath = Path.Combine(snapshotFolder, SnapshotStore.NodesFolder, node + ".tar");
        Directory.CreateDirectory(Path.GetDirectoryName(archivePath)!);
        var warnings = new List<string>();
        var deleted = new List<string>();
        var configBind = binds.FirstOrDefault(b => b.ContainerPath == configPath);
        var configSaved = false;
        var entries = 0;
        string? baseDigest = null;
        var memory = false;
        await using (var input = new FileStream(stream, FileMode.Open, FileAccess.Read))
        await using (var reader = new TarReader(input))
        await using (var archive = new FileStream(archivePath, FileMode.CreateNew, FileAccess.Write))
        await using (var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true))
        {
            while (await reader.GetNextEntryAsync(copyData: false, ct) is { } entry)
            {
                switch (entry.Name)
                {
                    case NodeSnapshotStream.WarningsEntry:
                        warnings.AddRange(Lines(await TextAsync(entry, ct)));
                        break;
                    case NodeSnapshotStream.DeletedEntry:
                        deleted.AddRange(Lines(await TextAsync(entry, ct)));
                        break;
                    case NodeSnapshotStream.DiskBaseEntry:
                        var diskBase = await VmBaseAsync(entry, ct);
                        baseDigest = $"sha256:{diskBase.Sha256}";
                        await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, entry.Name)
                        {
                            DataStream = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(diskBase, VmDiskBase.Json)),
                        }, ct);
                        entries++;
                        break;
                    case NodeSnapshotStream.DiskEntry or NodeSnapshotStream.RamEntry when entry.EntryType is TarEntryType.RegularFile:
                        await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, entry.Name) { DataStream = entry.DataStream }, ct);
                        memory |= entry.Name == NodeSnapshotStream.RamEntry;
                        entries++;
                        break;
                    case NodeSnapshotStream.ConfigEntry when configPath is not null:
                        configSaved = true;
                        if (configBind is not null)
                        {
                            await WriteFileAsync(files, configBind.RelativePath, entry.DataStream, ct);
                        }
                        else
                        {
                            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, configPath.TrimStart('/'))
                            {
                                DataStream = entry.DataStream,
                                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                            }, ct);
                            entries++;
                        }
                        break;
                    case var name when name.StartsWith(NodeSnapshotStream.PathsPrefix, StringComparison.Ordinal):
                        var inNode = "/" + name[NodeSnapshotStream.PathsPrefix.Length..].TrimEnd('/');
                        if (configSaved && inNode == configPath)
                        {
                            break; // the running configuration was saved over it
                        }
                        if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile && BindOf(binds, inNode) is { } relative)
                        {
                            await WriteFileAsync(files, relative, entry.DataStream, ct);
                        }
                        break;
                    case var name when name.StartsWith(NodeSnapshotStream.FsPrefix, StringComparison.Ordinal) && name.Length > NodeSnapshotStream.FsPrefix.Length:
                        if (Unprefixed(entry, name[NodeSnapshotStream.FsPrefix.Length..]) is { } copy)
                        {
                            await writer.WriteEntryAsync(copy, ct);
                            entries++;
                        }
                        break;
                }
            }
        }
        if (entries == 0)
        {
            File.Delete(archivePath);
        }
        return new NodeSnapshotParts(entries > 0, deleted, warnings, baseDigest, memory);
    }

    /// <summary>A VM disk's base image as its host named it (small: read whole, bounded), checked to be one.</summary>
    private static async Task<VmDiskBase> VmBaseAsync(TarEntry entry, CancellationToken ct)
    {
        var diskBase = entry.Length <= 64 << 10 && entry.DataStream is { } data
            ? await JsonSerializer.DeserializeAsync<VmDiskBase>(data, VmDiskBase.Json, ct)
            : null;
        return diskBase is { Image: not null, Format: not null } && diskBase.Sha256 is { Length: 64 } sha && sha.All(char.IsAsciiHexDigitLower)
            ? diskBase
            : throw new InvalidDataException("a VM disk's base image is not named as it should be (image, format, SHA-256)");
    }

    /// <summary>An fs/ entry under its path in the node (a hard link's target too).</summary>
    private static PaxTarEntry? Unprefixed(TarEntry entry, string name) =>
        NodeSnapshotStream.Rebuild(entry, name, link => link.StartsWith(NodeSnapshotStream.FsPrefix, StringComparison.Ordinal)
            ? link[NodeSnapshotStream.FsPrefix.Length..] : link);

    /// <summary>The lab file a path in the node is (a bound file, or a file inside a bound folder); null: none.</summary>
    private static string? BindOf(IReadOnlyList<SnapshotBind> binds, string inNode)
    {
        foreach (var b in binds)
        {
            var bound = b.ContainerPath.TrimEnd('/');
            if (inNode == bound)
            {
                return b.RelativePath;
            }
            if (inNode.StartsWith(bound + "/", StringComparison.Ordinal))
            {
                return b.RelativePath + inNode[bound.Length..];
            }
        }
        return null;
    }

    /// <summary>Writes a lab file of the snapshot anew (never through a link: an existing entry is removed first).</summary>
    private static async Task WriteFileAsync(string files, string relative, Stream? data, CancellationToken ct)
    {
        if (LabSources.CheckPath(relative) is { } problem)
        {
            throw new InvalidDataException($"a saved lab file: {problem}");
        }
        var target = Path.Combine(files, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Delete(target);
        await using var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write);
        if (data is not null)
        {
            await data.CopyToAsync(output, ct);
        }
    }

    private static async Task<string> TextAsync(TarEntry entry, CancellationToken ct)
    {
        if (entry.DataStream is null)
        {
            return "";
        }
        using var reader = new StreamReader(entry.DataStream, Encoding.UTF8, leaveOpen: true);
        return await reader.ReadToEndAsync(ct);
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
