using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using Ltb.Runtime.Files;
using Ltb.Server.Labs;

namespace Ltb.Server.Snapshots;

/// <summary>One file of an archive: its path (relative to the snapshot's folder), its size and its SHA-256 (lower-case hex).</summary>
public sealed record SnapshotArchiveMember(string Path, long Size, string Sha256);

/// <summary>An image a node of the archived lab runs: referenced by name and, when its host knew it, its repository digest.</summary>
public sealed record SnapshotArchiveImage(string Node, string Image, string? Digest);

/// <summary>
/// The first entry of an archive (<see cref="SnapshotArchive.ManifestEntry"/>): which format it is, what snapshot of what
/// lab, the images its nodes need, and every other member with its size and checksum (docs/snapshot-format.md).
/// </summary>
public sealed record SnapshotArchiveManifest(string Kind, int Format, string Name, string LabName, string SourceFileName,
    DateTimeOffset CreatedAt, DateTimeOffset ExportedAt, IReadOnlyList<SnapshotArchiveImage> Images, IReadOnlyList<SnapshotArchiveMember> Members);

/// <summary>Why an archive was refused; the message names the member or the versions and says what to do.</summary>
public sealed class SnapshotArchiveException(string message) : Exception(message);

/// <summary>
/// A snapshot as one file to take to another LTB (issue #15; docs/snapshot-format.md): a tar (PAX) whose first entry is
/// the manifest (<see cref="SnapshotArchiveManifest"/>) and whose other entries are the snapshot folder's regular files
/// under their relative paths. Reading checks everything before anything is kept: the format version, each member's
/// path (like uploads, <see cref="LabSources.CheckPath"/>), type, size and checksum, and that the members are exactly
/// the manifest's; the caller reads into a staging folder it removes when this throws.
/// </summary>
public static class SnapshotArchive
{
    public const string Kind = "ltb-snapshot";
    /// <summary>The newest format this LTB reads and writes (docs/snapshot-format.md "Versions").</summary>
    public const int Format = 2;
    /// <summary>Format 2 added a VM node's RAM state; an archive without one is written as format 1, which older LTBs read.</summary>
    public const int RamStateFormat = 2;
    public const string ManifestEntry = "ltb-snapshot.json";
    public const string MediaType = "application/x-tar";
    public const string Extension = ".ltbsnap.tar";
    public const int MaxMembers = 20_000;
    private const long MaxManifestBytes = 4L << 20;
    private static readonly string[] Tops = [SnapshotStore.FilesFolder + "/", SnapshotStore.NodesFolder + "/"];

    /// <summary>Writes the snapshot in <paramref name="folder"/> as an archive (two passes: checksums first, since the manifest leads).</summary>
    public static async Task WriteAsync(string folder, SnapshotManifest snapshot, Stream output, CancellationToken ct)
    {
        var files = new DirectoryInfo(folder)
            .EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .Select(f => (File: f, Path: Path.GetRelativePath(folder, f.FullName).Replace(Path.DirectorySeparatorChar, '/')))
            .OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
        var members = new List<SnapshotArchiveMember>();
        foreach (var (file, path) in files)
        {
            await using var stream = file.OpenRead();
            members.Add(new SnapshotArchiveMember(path, file.Length, Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct))));
        }
        var images = snapshot.Nodes.Select(n => new SnapshotArchiveImage(n.Name, n.Image, n.ImageDigest)).ToList();
        var manifest = new SnapshotArchiveManifest(Kind, WrittenFormat(snapshot), snapshot.Name, snapshot.LabName, snapshot.SourceFileName, snapshot.CreatedAt,
            DateTimeOffset.UtcNow, images, members);
        await using var tar = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        await tar.WriteEntryAsync(Regular(ManifestEntry, new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(manifest, SnapshotStore.Json))), ct);
        foreach (var (file, path) in files)
        {
            await using var data = file.OpenRead();
            await tar.WriteEntryAsync(Regular(path, data), ct);
        }
    }

    /// <summary>The oldest format that holds the snapshot: an older LTB could restore a saved RAM state's node only wrongly (it refuses the entry at deployment).</summary>
    public static int WrittenFormat(SnapshotManifest snapshot) => snapshot.Nodes.Any(n => n.Memory) ? RamStateFormat : 1;

    /// <summary>
    /// Reads an archive into <paramref name="target"/> (an empty folder), reading at most <paramref name="maxBytes"/> of
    /// <paramref name="input"/>; answers its manifest. Throws <see cref="SnapshotArchiveException"/> on anything amiss.
    /// </summary>
    public static async Task<SnapshotArchiveManifest> ReadAsync(Stream input, string target, long maxBytes, CancellationToken ct)
    {
        await using var bounded = new BoundedReadStream(input, maxBytes);
        await using var tar = new TarReader(bounded, leaveOpen: true);
        try
        {
            var manifest = await ReadManifestAsync(tar, ct);
            var expected = manifest.Members.ToDictionary(m => m.Path, StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (await tar.GetNextEntryAsync(copyData: false, ct) is { } entry)
            {
                if (entry.EntryType is TarEntryType.Directory)
                {
                    continue; // folders come from their files' paths
                }
                if (!expected.TryGetValue(entry.Name, out var member) || !seen.Add(entry.Name))
                {
                    throw new SnapshotArchiveException($"member '{entry.Name}' is not in the archive's manifest (or comes twice): the archive was changed after it was exported");
                }
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                {
                    throw new SnapshotArchiveException($"member '{entry.Name}' is a {entry.EntryType}; an archive holds regular files only");
                }
                await ExtractAsync(entry, member, target, ct);
            }
            if (manifest.Members.FirstOrDefault(m => !seen.Contains(m.Path)) is { } missing)
            {
                throw new SnapshotArchiveException($"member '{missing.Path}' named in the archive's manifest is missing: the archive is incomplete or was changed");
            }
            return manifest;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw new SnapshotArchiveException($"the file is not a complete snapshot archive (a tar whose first entry is {ManifestEntry}): {e.Message}");
        }
    }

    private static async Task<SnapshotArchiveManifest> ReadManifestAsync(TarReader tar, CancellationToken ct)
    {
        var first = await tar.GetNextEntryAsync(copyData: false, ct);
        if (first is null || first.Name != ManifestEntry || first.DataStream is null || first.Length > MaxManifestBytes)
        {
            throw new SnapshotArchiveException($"the file is not a snapshot archive: its first entry is {(first is null ? "missing" : $"'{first.Name}'")}, not {ManifestEntry}");
        }
        SnapshotArchiveManifest? manifest;
        try
        {
            using var copy = new MemoryStream();
            await first.DataStream.CopyToAsync(copy, ct);
            using var doc = JsonDocument.Parse(copy.ToArray());
            var format = doc.RootElement.TryGetProperty("format", out var f) && f.TryGetInt32(out var n) ? n : 0;
            if (format > Format)
            {
                throw new SnapshotArchiveException($"the archive is snapshot format {format}; this LTB reads format {Format} at most: import it into a newer LTB, or export it again from an LTB that writes format {Format}");
            }
            manifest = doc.Deserialize<SnapshotArchiveManifest>(SnapshotStore.Json);
        }
        catch (JsonException e)
        {
            throw new SnapshotArchiveException($"{ManifestEntry} is not valid JSON: {e.Message}");
        }
        if (manifest is not { Kind: Kind, Format: >= 1, Members: not null, Images: not null } || manifest.Members.Count > MaxMembers)
        {
            throw new SnapshotArchiveException($"{ManifestEntry} does not describe an LTB snapshot (kind '{Kind}', format 1..{Format}, at most {MaxMembers} members)");
        }
        if (manifest.Members.GroupBy(m => m.Path).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new SnapshotArchiveException($"member '{twice.Key}' comes twice in the archive's manifest");
        }
        foreach (var m in manifest.Members)
        {
            var problem = LabSources.CheckPath(m.Path ?? "") ?? (m.Path == SnapshotStore.ManifestFile || m.Path == SnapshotStore.StatusFile
                || Tops.Any(t => m.Path!.StartsWith(t, StringComparison.Ordinal)) ? null : "it is not a part of a snapshot (files/, nodes/, snapshot.json, status.json)");
            if (problem is not null || m.Size < 0 || m.Sha256 is not { Length: 64 })
            {
                throw new SnapshotArchiveException($"member '{m.Path}' of the manifest is refused: {problem ?? "its size or checksum is malformed"}");
            }
        }
        if (!manifest.Members.Any(m => m.Path == SnapshotStore.ManifestFile))
        {
            throw new SnapshotArchiveException($"the archive holds no {SnapshotStore.ManifestFile}: it is not a snapshot");
        }
        return manifest;
    }

    /// <summary>Writes one member anew under the target, hashing as it goes; its size and checksum must be the manifest's.</summary>
    private static async Task ExtractAsync(TarEntry entry, SnapshotArchiveMember member, string target, CancellationToken ct)
    {
        if (entry.Length != member.Size)
        {
            throw new SnapshotArchiveException($"member '{member.Path}' has {entry.Length} bytes, not the {member.Size} its manifest says: the archive was changed");
        }
        var path = Path.Combine(target, member.Path);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        CopiedBytes copied;
        await using (var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            copied = await BoundedCopy.CopyHashedAsync(entry.DataStream ?? Stream.Null, output, member.Size,
                () => new SnapshotArchiveException($"member '{member.Path}' is longer than the {member.Size} bytes its manifest says: the archive was changed"), ct);
        }
        if (!string.Equals(copied.Sha256, member.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new SnapshotArchiveException($"member '{member.Path}' does not match its SHA-256 checksum in the manifest: the archive was changed or damaged");
        }
    }

    private static PaxTarEntry Regular(string name, Stream data) => new(TarEntryType.RegularFile, name)
    {
        DataStream = data,
        Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
    };

    /// <summary>Reads through and fails, saying the archive is too large, once more than <c>limit</c> bytes came.</summary>
    private sealed class BoundedReadStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Count(int read)
        {
            _read += read;
            return _read > limit
                ? throw new SnapshotArchiveTooLargeException($"the archive is larger than the {limit >> 20} MiB you may import (what is left of your snapshot quota, at most the import limit); delete snapshots to free space")
                : read;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>The archive exceeded what the importer may import (an answer 413, not 400).</summary>
public sealed class SnapshotArchiveTooLargeException(string message) : Exception(message);
