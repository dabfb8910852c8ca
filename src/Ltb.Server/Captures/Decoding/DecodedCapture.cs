using System.Diagnostics;
using Ltb.Contracts;

namespace Ltb.Server.Captures.Decoding;

/// <summary>
/// A capture decoded for the browser: the pcapng stream of a <see cref="CaptureViewer"/> goes both into a file (what the
/// download returns and the protocol tree reads) and into tshark (<see cref="Tshark.StartDecoder"/>), whose rows are kept
/// for the list. Bounded: the capture's own bounds (<see cref="DecodedCaptureLimits"/>), rows at most
/// <see cref="DecodedCaptureLimits.MaxPackets"/>; a tshark that falls behind slows only this capture's pump, whose viewer
/// then drops (and counts) packets as any slow reader does.
/// </summary>
public sealed class DecodedCapture : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly List<DecodedPacketDto> _rows = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly FileStream _file;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _work = Task.CompletedTask;
    private long _fileLength;
    private long _lastUsedTicks;

    public DecodedCapture(Guid id, Guid userId, Guid labId, IReadOnlyList<string> interfaces, string? filter, string? displayFilter, string path,
        TimeProvider clock)
    {
        Id = id;
        UserId = userId;
        LabId = labId;
        Interfaces = interfaces;
        Filter = filter;
        DisplayFilter = displayFilter;
        Path = path;
        Clock = clock;
        CreatedAt = clock.GetUtcNow();
        Touch();
        _file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.Read,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
    }

    public Guid Id { get; }
    public Guid UserId { get; }
    public Guid LabId { get; }
    public IReadOnlyList<string> Interfaces { get; }
    public string? Filter { get; }
    public string? DisplayFilter { get; }
    public string Path { get; }
    public DateTimeOffset CreatedAt { get; }
    private TimeProvider Clock { get; }
    public string? EndReason { get; private set; }
    public bool Running => EndReason is null;
    public DateTimeOffset LastUsed => new(Interlocked.Read(ref _lastUsedTicks), TimeSpan.Zero);

    public void Touch() => Interlocked.Exchange(ref _lastUsedTicks, Clock.GetUtcNow().UtcTicks);

    /// <summary>Starts pumping the opened capture into the file and tshark; the viewer is this capture's from now on.</summary>
    public void Start(CaptureViewer viewer, IReadOnlyList<string> names, IReadOnlyList<PcapHeader> headers, CaptureBounds bounds)
    {
        _work = Task.Run(() => RunAsync(viewer, names, headers, bounds));
    }

    private async Task RunAsync(CaptureViewer viewer, IReadOnlyList<string> names, IReadOnlyList<PcapHeader> headers, CaptureBounds bounds)
    {
        using var owned = viewer;
        string reason;
        try
        {
            using var tshark = Tshark.StartDecoder(DisplayFilter);
            var rows = ReadRowsAsync(tshark);
            var stderr = tshark.StandardError.ReadToEndAsync();
            try
            {
                var sink = new TeeStream(this, tshark.StandardInput.BaseStream);
                reason = await CapturePump.RunAsync(sink, viewer, names, headers, bounds, _stop.Token) ?? "it was stopped";
                tshark.StandardInput.Close();
                // tshark decodes what it was given before it ends (a minute at most).
                await rows.WaitAsync(TimeSpan.FromSeconds(60));
            }
            finally
            {
                if (!tshark.HasExited)
                {
                    tshark.Kill(entireProcessTree: true);
                }
                await tshark.WaitForExitAsync();
            }
            await stderr; // drained so tshark never blocks on it; its rows say what it decoded
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            reason = $"decoding failed: {e.Message}";
        }
        lock (_lock)
        {
            EndReason = reason;
        }
        Signal();
    }

    private async Task ReadRowsAsync(Process tshark)
    {
        while (await tshark.StandardOutput.ReadLineAsync() is { } line)
        {
            if (Tshark.ParseRow(line) is not { } row)
            {
                continue;
            }
            bool full;
            lock (_lock)
            {
                _rows.Add(row);
                full = _rows.Count >= DecodedCaptureLimits.MaxPackets;
            }
            Signal();
            if (full)
            {
                await _stop.CancelAsync(); // the list is full: the capture ends (its file is complete up to here)
            }
        }
    }

    private void Signal()
    {
        TaskCompletionSource done;
        lock (_lock)
        {
            done = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        done.TrySetResult();
    }

    /// <summary>The rows after packet number <paramref name="after"/> (at most <paramref name="max"/>), waiting up to <paramref name="wait"/> for some.</summary>
    public async Task<IReadOnlyList<DecodedPacketDto>> RowsAsync(int after, int max, TimeSpan wait, CancellationToken ct)
    {
        Touch();
        var deadline = Clock.GetUtcNow() + wait;
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                var rows = _rows.Where(r => r.Number > after).Take(max).ToList();
                if (rows.Count > 0 || !Running || Clock.GetUtcNow() >= deadline)
                {
                    return rows;
                }
                changed = _changed.Task;
            }
            var left = deadline - Clock.GetUtcNow();
            if (left <= TimeSpan.Zero)
            {
                return [];
            }
            try
            {
                await changed.WaitAsync(left, Clock, ct);
            }
            catch (TimeoutException)
            {
                return [];
            }
        }
    }

    public DecodedCaptureDto ToDto()
    {
        lock (_lock)
        {
            return new DecodedCaptureDto(Id, LabId, Running ? "running" : "ended", Interfaces, Filter, DisplayFilter, CreatedAt, _rows.Count,
                Interlocked.Read(ref _fileLength), EndReason);
        }
    }

    /// <summary>What was captured so far, as pcapng (whole blocks: the length is taken between writes).</summary>
    public async Task<byte[]> CapturedAsync(CancellationToken ct)
    {
        Touch();
        var length = Interlocked.Read(ref _fileLength);
        var bytes = new byte[length];
        await using var read = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        await read.ReadExactlyAsync(bytes, ct);
        return bytes;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _work.WaitAsync(TimeSpan.FromSeconds(70));
        }
        catch (TimeoutException)
        {
            // Left to end by itself; the file goes now.
        }
        await _file.DisposeAsync();
        File.Delete(Path);
        _stop.Dispose();
    }

    /// <summary>The pump's output: each write goes to the file and to tshark; the file's length counts whole flushes.</summary>
    private sealed class TeeStream(DecodedCapture capture, Stream tshark) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            await capture._file.WriteAsync(buffer, ct);
            await tshark.WriteAsync(buffer, ct);
        }

        public override async Task FlushAsync(CancellationToken ct)
        {
            await capture._file.FlushAsync(ct);
            Interlocked.Exchange(ref capture._fileLength, capture._file.Length);
            await tshark.FlushAsync(ct);
        }

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
