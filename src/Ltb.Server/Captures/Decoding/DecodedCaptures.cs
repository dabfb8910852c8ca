using Ltb.Contracts;
using Ltb.Server.Hosting;

namespace Ltb.Server.Captures.Decoding;

/// <summary>
/// The server's decoded captures, by id, in memory (like live captures: on the replica that serves them). At most
/// <see cref="DecodedCaptureLimits.MaxCaptures"/> at once; one nobody read for <see cref="DecodedCaptureLimits.IdleTimeout"/>
/// is stopped and its file deleted (checked every 15 s); all are stopped when the server stops. Files live in
/// <c>DATA/captures</c> (owner-only), which starts empty.
/// </summary>
public sealed class DecodedCaptures : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Guid, DecodedCapture> _captures = [];
    private readonly ITimer _reaper;
    private readonly TimeProvider _clock;

    public DecodedCaptures(LtbServerOptions options, TimeProvider clock)
    {
        _clock = clock;
        Folder = System.IO.Path.Combine(options.DataDirectory, "captures");
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true); // a previous run's files: their captures are gone
        }
        Directory.CreateDirectory(Folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _reaper = clock.CreateTimer(_ => _ = ReapAsync(), null, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(15));
    }

    public string Folder { get; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _captures.Count;
            }
        }
    }

    /// <summary>A new capture of <paramref name="userId"/>, registered; null when the server has the most it keeps.</summary>
    public DecodedCapture? Create(Guid userId, Guid labId, IReadOnlyList<string> interfaces, string? filter, string? displayFilter)
    {
        lock (_lock)
        {
            if (_captures.Count >= DecodedCaptureLimits.MaxCaptures)
            {
                return null;
            }
            var id = Guid.NewGuid();
            var capture = new DecodedCapture(id, userId, labId, interfaces, filter, displayFilter,
                System.IO.Path.Combine(Folder, $"{id:N}.pcapng"), _clock);
            _captures[capture.Id] = capture;
            return capture;
        }
    }

    public DecodedCapture? Find(Guid id)
    {
        lock (_lock)
        {
            return _captures.GetValueOrDefault(id);
        }
    }

    public IReadOnlyList<DecodedCapture> Of(Guid userId, Guid labId)
    {
        lock (_lock)
        {
            return _captures.Values.Where(c => c.UserId == userId && c.LabId == labId).OrderBy(c => c.CreatedAt).ToList();
        }
    }

    public async Task RemoveAsync(DecodedCapture capture)
    {
        lock (_lock)
        {
            _captures.Remove(capture.Id);
        }
        await capture.DisposeAsync();
    }

    private async Task ReapAsync()
    {
        List<DecodedCapture> idle;
        lock (_lock)
        {
            var before = _clock.GetUtcNow() - DecodedCaptureLimits.IdleTimeout;
            idle = _captures.Values.Where(c => c.LastUsed < before).ToList();
        }
        foreach (var c in idle)
        {
            await RemoveAsync(c);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _reaper.DisposeAsync();
        List<DecodedCapture> all;
        lock (_lock)
        {
            all = [.. _captures.Values];
            _captures.Clear();
        }
        foreach (var c in all)
        {
            await c.DisposeAsync();
        }
    }
}
