using System.Formats.Tar;
using System.Net;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Nodes;

/// <summary>
/// A container node's snapshot and restore (issue #15) through the engine's own API, so it works on any storage driver
/// and needs no tool inside the node: the engine's list of changes against the image (<c>docker diff</c>), the archive
/// of each added or changed path (<c>docker cp</c>'s API), and at restore one archive put into the created container
/// before its first start. Only what differs from the image travels: a snapshot names its image, never contains it.
/// </summary>
internal sealed class ContainerSnapshots(DockerEngine engine)
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private const long ConfigLimitBytes = 16L << 20;

    public delegate Task<ExecResult> Exec(IReadOnlyList<string> command, TimeSpan timeout, long limitBytes, CancellationToken ct);

    /// <summary>Writes the node's <see cref="NodeSnapshotStream"/> (save-config first, then what changed) to <paramref name="output"/>.</summary>
    public async Task WriteAsync(NodeSnapshotRequest request, Exec exec, Stream output, CancellationToken ct)
    {
        var container = Names.Container(request.Lab, request.Node);
        var limit = Math.Min(request.LimitBytes, NodeSnapshotStream.HardLimitBytes);
        var bounded = new BoundedStream(output, limit, request.Lab, request.Node);
        var warnings = new List<string>();
        string? config = null;
        if (request.SaveConfig is { Count: > 0 } save)
        {
            var saved = await exec(save, CommandTimeout, ConfigLimitBytes, ct);
            if (saved.ExitCode != 0)
            {
                warnings.Add($"'{string.Join(' ', save)}' ended with exit code {saved.ExitCode}: {Cut(saved.Stderr.Trim() is { Length: > 0 } e ? e : saved.Stdout.Trim())}");
            }
        }
        if (request.RunningConfig is { Count: > 0 } show)
        {
            var shown = await exec(show, CommandTimeout, ConfigLimitBytes, ct);
            if (shown.ExitCode != 0 || shown.Truncated)
            {
                throw new LabRuntimeException(request.Lab, request.Node, shown.Truncated
                    ? $"its running configuration is larger than {ConfigLimitBytes >> 20} MiB"
                    : $"its running configuration could not be read ('{string.Join(' ', show)}' ended with exit code {shown.ExitCode}: {Cut(shown.Stderr.Trim())})");
            }
            config = shown.Stdout;
        }
        var changes = await engine.Client.Containers.InspectChangesAsync(container, ct);
        var ids = await IdMap.OfAsync(engine, container, ct);
        await using var tar = new TarWriter(bounded, TarEntryFormat.Pax, leaveOpen: true);
        if (config is not null)
        {
            await WriteTextAsync(tar, NodeSnapshotStream.ConfigEntry, config, ct);
        }
        foreach (var path in request.Paths)
        {
            await CopyPathAsync(container, path, NodeSnapshotStream.PathsPrefix, tar, ids, warnings, ct);
        }
        var (fetch, deleted) = Plan(changes, request.Paths);
        foreach (var path in fetch)
        {
            await CopyPathAsync(container, path, NodeSnapshotStream.FsPrefix, tar, ids, warnings, ct);
        }
        await WriteTextAsync(tar, NodeSnapshotStream.WarningsEntry, string.Join('\n', warnings), ct);
        await WriteTextAsync(tar, NodeSnapshotStream.DeletedEntry, string.Join('\n', deleted), ct);
        await tar.DisposeAsync();
        await bounded.FlushAsync(ct);
    }

    /// <summary>
    /// Which paths to copy and which were deleted: an added folder is copied whole (not its entries one by one), a changed
    /// folder only through what changed below it; runtime state and the requested paths (binds) are left out.
    /// </summary>
    internal static (IReadOnlyList<string> Fetch, IReadOnlyList<string> Deleted) Plan(IEnumerable<ContainerFileSystemChangeResponse> changes,
        IReadOnlyList<string> skip)
    {
        var all = changes?.ToList() ?? []; // the engine answers null for a container with no changes
        var kept = all.Where(c => !NodeSnapshotStream.IsTransient(c.Path)
            && !skip.Any(s => c.Path == s || c.Path.StartsWith(s.TrimEnd('/') + "/", StringComparison.Ordinal))).ToList();
        var added = kept.Where(c => c.Kind == FileSystemChangeKind.Add).Select(c => c.Path).ToHashSet(StringComparer.Ordinal);
        var deleted = kept.Where(c => c.Kind == FileSystemChangeKind.Delete).Select(c => c.Path).ToHashSet(StringComparer.Ordinal);
        // Over every change, transient ones included: a folder changed only below a transient path (/var for /var/tmp)
        // must not be fetched whole.
        var ancestors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in all)
        {
            for (var p = Parent(c.Path); p.Length > 1; p = Parent(p))
            {
                ancestors.Add(p);
            }
        }
        var fetch = kept
            .Where(c => c.Kind != FileSystemChangeKind.Delete && !added.Contains(Parent(c.Path)))
            .Where(c => c.Kind == FileSystemChangeKind.Add || !ancestors.Contains(c.Path))
            .Select(c => c.Path).Order(StringComparer.Ordinal).ToList();
        return (fetch, deleted.Where(d => !deleted.Contains(Parent(d))).Order(StringComparer.Ordinal).ToList());
    }

    /// <summary>Puts a snapshot's filesystem archive (entries relative to the root) into the created, not yet started, container.</summary>
    public async Task RestoreAsync(string lab, string node, string archive, CancellationToken ct)
    {
        try
        {
            await using var stream = new FileStream(archive, FileMode.Open, FileAccess.Read);
            await engine.Client.Containers.ExtractArchiveToContainerAsync(Names.Container(lab, node),
                new CopyToContainerParameters { Path = "/" }, stream, ct);
        }
        catch (Exception e) when (e is DockerApiException or IOException)
        {
            throw new LabRuntimeException(lab, node, $"its saved state could not be restored: {(e is DockerApiException d ? ContainerNodes.DockerMessage(d) : e.Message)}", e);
        }
    }

    private async Task CopyPathAsync(string container, string path, string prefix, TarWriter output, IdMap ids, List<string> warnings, CancellationToken ct)
    {
        Stream stream;
        try
        {
            stream = (await engine.Client.Containers.GetArchiveFromContainerAsync(container, new ContainerPathStatParameters { Path = path }, false, ct)).Stream ?? Stream.Null;
        }
        catch (DockerApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return; // gone since the list of changes was read (a temporary file)
        }
        await using var _ = stream;
        await using var tar = new TarReader(stream, leaveOpen: true);
        var parent = Parent(path).TrimStart('/');
        var at = prefix + (parent.Length == 0 ? "" : parent + "/");
        try
        {
            while (await tar.GetNextEntryAsync(copyData: false, ct) is { } entry)
            {
                if (Copy(entry, at, ids) is { } copy)
                {
                    // Read whole before it is written, so that the output only ever holds complete entries.
                    await using var data = await SeekableAsync(copy, entry.Length, ct);
                    await output.WriteEntryAsync(copy, ct);
                }
            }
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException)
        {
            // The engine ends its archive early when a file changes while it is read (a daemon's log or state file), as
            // tar's "file changed as we read it": what came before is kept, the rest of this path is not.
            warnings.Add($"'{path}' changed while it was saved; part of it is not in the snapshot ({e.Message})");
        }
    }

    /// <summary>
    /// Gives the entry a seekable copy of its data: a TarWriter on a stream it cannot seek (the agent's response) needs
    /// each entry's length first. Small files in memory, larger ones in a temporary file deleted when closed.
    /// </summary>
    private static async Task<Stream?> SeekableAsync(TarEntry entry, long length, CancellationToken ct)
    {
        if (entry.DataStream is not { CanSeek: false } source)
        {
            return null;
        }
        Stream copy = length <= InMemoryFileBytes
            ? new MemoryStream()
            : new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16,
                FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        await source.CopyToAsync(copy, ct);
        copy.Position = 0;
        entry.DataStream = copy;
        return copy;
    }

    private const long InMemoryFileBytes = 4L << 20;

    /// <summary>The entry under its new name, owners as the node sees them; devices, fifos and other special files are not kept (null).</summary>
    private static PaxTarEntry? Copy(TarEntry entry, string at, IdMap ids) =>
        NodeSnapshotStream.Rebuild(entry, at + entry.Name, link => at + link, ids.InContainer);

    private static async Task WriteTextAsync(TarWriter tar, string name, string text, CancellationToken ct) =>
        await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) }, ct);

    internal static string Parent(string path)
    {
        var i = path.TrimEnd('/').LastIndexOf('/');
        return i <= 0 ? "/" : path[..i];
    }

    private static string Cut(string s) => s.Length <= 500 ? s : s[..500];

    /// <summary>Passes writes through and fails, naming the node, once more than <c>limit</c> bytes went by.</summary>
    private sealed class BoundedStream(Stream inner, long limit, string lab, string node) : Stream
    {
        private long _written;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;
        public override long Position { get => _written; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) =>
            WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var ct = cancellationToken;
            _written += buffer.Length;
            if (_written > limit)
            {
                throw new LabRuntimeException(lab, node, $"its saved state is larger than the {limit >> 20} MiB this snapshot may take (free space by deleting snapshots)");
            }
            await inner.WriteAsync(buffer, ct);
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

/// <summary>
/// The container's user namespace (first line of /proc/PID/uid_map: inside, outside, count). The engine's archive of a
/// remapped container gives files their owners as the host sees them (100101 for the node's uid 101); a restore into a
/// new container needs the IDs inside it, or the engine refuses them ("cannot be mapped to a host ID").
/// </summary>
internal sealed record IdMap(long Inside, long Outside, long Count)
{
    private static readonly IdMap None = new(0, 0, 0);

    public static async Task<IdMap> OfAsync(DockerEngine engine, string container, CancellationToken ct)
    {
        var pid = (await engine.Client.Containers.InspectContainerAsync(container, ct)).State?.Pid ?? 0;
        try
        {
            var first = pid > 0 ? (await File.ReadAllLinesAsync($"/proc/{pid}/uid_map", ct)).FirstOrDefault() : null;
            var parts = first?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts is { Length: 3 } && parts.All(p => long.TryParse(p, out _)) && long.Parse(parts[1]) != long.Parse(parts[0])
                ? new IdMap(long.Parse(parts[0]), long.Parse(parts[1]), long.Parse(parts[2]))
                : None;
        }
        catch (IOException)
        {
            return None;
        }
    }

    public int InContainer(int id) => id >= Outside && id < Outside + Count && Count > 0 ? (int)(id - Outside + Inside) : id;
}
