using System.Formats.Tar;

namespace Ltb.Runtime.Nodes;

/// <summary>
/// What a snapshot asks of one node (issue #15): the commands that save and print its configuration (argument vectors,
/// never shell lines: the controller splits the node type's commands), the container paths whose current content is
/// wanted whole (the node's writable binds of lab files, which a filesystem diff does not see), and the most bytes the
/// node's part may take.
/// </summary>
/// <param name="SaveConfig">The node type's save-config command (e.g. FRR's <c>vtysh -c 'write memory'</c>), run first; its failure is a warning.</param>
/// <param name="RunningConfig">The node type's running-config command: its output is the configuration in the form the node reads at start.</param>
public sealed record NodeSnapshotRequest(string Lab, string Node)
{
    public IReadOnlyList<string>? SaveConfig { get; init; }
    public IReadOnlyList<string>? RunningConfig { get; init; }
    public IReadOnlyList<string> Paths { get; init; } = [];
    public long LimitBytes { get; init; } = NodeSnapshotStream.HardLimitBytes;
    /// <summary>A VM node's RAM state too (<see cref="NodeSnapshotStream.RamEntry"/>), where its type pauses the guest; containers ignore it.</summary>
    public bool Memory { get; init; }
}

/// <summary>
/// The byte stream of one node's snapshot: a tar (PAX) whose entries are, in this order: <see cref="ConfigEntry"/> (the
/// running-config command's output), <see cref="PathsPrefix"/>PATH (the requested container paths, whole),
/// <see cref="FsPrefix"/>PATH (the files, links and folders added or changed against the image),
/// <see cref="WarningsEntry"/> (what did not work but did not stop the snapshot, one line each), <see cref="DeletedEntry"/>
/// (the paths deleted from the image, one a line). Paths inside are relative to the node's root. A VM node's stream has
/// <see cref="DiskBaseEntry"/> (the base image its disk was taken over, <see cref="Vm.VmDiskBase"/>), <see cref="DiskEntry"/>
/// (its disk overlay, a qcow2 that names no backing file), with memory <see cref="RamEntry"/> (QEMU's migration stream of
/// the same pause as the disk) and <see cref="WarningsEntry"/>.
/// </summary>
public static class NodeSnapshotStream
{
    public const string WarningsEntry = "warnings";
    public const string DiskBaseEntry = "disk.json";
    public const string DiskEntry = "disk.qcow2";
    public const string RamEntry = "ram.state";
    public const string ConfigEntry = "config";
    public const string PathsPrefix = "paths/";
    public const string FsPrefix = "fs/";
    public const string DeletedEntry = "deleted";

    /// <summary>The most one node's part may take, whatever a request says.</summary>
    public const long HardLimitBytes = 4L << 30;

    /// <summary>Runtime state a node recreates at start: never part of a snapshot (pid files, sockets, the engine's own files).</summary>
    public static readonly IReadOnlyList<string> Transient =
        ["/proc", "/sys", "/dev", "/run", "/var/run", "/tmp", "/var/tmp", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/.dockerenv"];

    public static bool IsTransient(string path) =>
        Transient.Any(t => path == t || path.StartsWith(t + "/", StringComparison.Ordinal));

    /// <summary>
    /// An entry of a snapshot's tar rebuilt under <paramref name="name"/> (the one place entries are copied: from the engine's
    /// archive into the stream on the host, from the stream into a node's archive on the controller). Files, folders and
    /// links are kept, anything else (devices, fifos) is not (null). Only files carry data and only links a link name
    /// (TarEntry refuses them on any other entry); a hard link's target is renamed by <paramref name="hardLinkName"/> like
    /// the entries, a symbolic link's is kept as the node wrote it. <paramref name="ids"/> maps owners (a remapped container).
    /// </summary>
    public static PaxTarEntry? Rebuild(TarEntry entry, string name, Func<string, string> hardLinkName, Func<int, int>? ids = null)
    {
        var type = entry.EntryType switch
        {
            TarEntryType.RegularFile or TarEntryType.V7RegularFile => TarEntryType.RegularFile,
            TarEntryType.Directory or TarEntryType.SymbolicLink or TarEntryType.HardLink => entry.EntryType,
            _ => (TarEntryType?)null,
        };
        if (type is not { } t)
        {
            return null;
        }
        var copy = new PaxTarEntry(t, name)
        {
            Mode = entry.Mode,
            Uid = ids?.Invoke(entry.Uid) ?? entry.Uid,
            Gid = ids?.Invoke(entry.Gid) ?? entry.Gid,
            ModificationTime = entry.ModificationTime,
        };
        if (t == TarEntryType.RegularFile)
        {
            copy.DataStream = entry.DataStream;
        }
        else if (t is TarEntryType.HardLink or TarEntryType.SymbolicLink)
        {
            copy.LinkName = t == TarEntryType.HardLink ? hardLinkName(entry.LinkName) : entry.LinkName;
        }
        return copy;
    }
}

/// <summary>A write-only stream that hands what is written to a callback in pieces of at most <see cref="PieceBytes"/> (a byte stream of the agent contract).</summary>
public sealed class CallbackStream(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write) : Stream
{
    public const int PieceBytes = 64 << 10;
    private readonly byte[] _buffer = new byte[PieceBytes];
    private int _used;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var ct = cancellationToken;
        while (buffer.Length > 0)
        {
            var n = Math.Min(buffer.Length, PieceBytes - _used);
            buffer[..n].CopyTo(_buffer.AsMemory(_used));
            _used += n;
            buffer = buffer[n..];
            if (_used == PieceBytes)
            {
                await FlushAsync(ct);
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        var ct = cancellationToken;
        if (_used > 0)
        {
            // The callback may keep the memory until it returns only: a copy, so the buffer can be reused.
            await write(_buffer.AsMemory(0, _used).ToArray(), ct);
            _used = 0;
        }
    }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
