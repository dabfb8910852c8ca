using System.Threading.Channels;
using Ltb.Contracts;

namespace Ltb.Server.Captures;

/// <summary>What a viewer reads: a packet of one of its interfaces, or (no packet) the end of that interface's capture.</summary>
public sealed record ViewerItem(int InterfaceId, CapturedPacket? Packet, Exception? Error);

/// <summary>
/// One reader of a capture (one request): the interfaces it follows (one <see cref="CaptureSource"/> each, shared with
/// other viewers) and its queue. The queue holds at most <see cref="CaptureLimits.ViewerQueuePackets"/> packets and
/// <see cref="CaptureLimits.ViewerQueueBytes"/> bytes: past that, packets for this viewer are dropped and counted per interface (<see cref="Dropped"/>), so a slow reader never
/// holds up the capture or another viewer. Disposing leaves every source (the last viewer's leaving stops it).
/// </summary>
public sealed class CaptureViewer : IDisposable
{
    private readonly CaptureHub _hub;
    private readonly Guid _userId;
    private readonly Channel<ViewerItem> _items = Channel.CreateUnbounded<ViewerItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<CaptureSource> _sources = [];
    private readonly long[] _dropped = new long[CaptureLimits.MaxInterfaces];
    private int _queued;
    private long _queuedBytes;
    private bool _disposed;

    internal CaptureViewer(CaptureHub hub, Guid userId)
    {
        _hub = hub;
        _userId = userId;
    }

    /// <summary>Follows the capture of <paramref name="key"/> (starting it if nobody captures it yet) as interface <paramref name="interfaceId"/>.</summary>
    public CaptureSource Follow(int interfaceId, CaptureKey key, CaptureStart start)
    {
        var source = _hub.Join(this, interfaceId, key, start);
        _sources.Add(source);
        return source;
    }

    public async ValueTask<ViewerItem> ReadAsync(CancellationToken ct)
    {
        var item = await _items.Reader.ReadAsync(ct);
        if (item.Packet is not null)
        {
            Interlocked.Decrement(ref _queued);
            Interlocked.Add(ref _queuedBytes, -item.Packet.Data.Length);
        }
        return item;
    }

    public long Dropped(int interfaceId) => Interlocked.Read(ref _dropped[interfaceId]);

    internal void Offer(int interfaceId, CapturedPacket packet)
    {
        var bytes = packet.Data.Length;
        var packets = Interlocked.Increment(ref _queued);
        var total = Interlocked.Add(ref _queuedBytes, bytes);
        if (packets > CaptureLimits.ViewerQueuePackets || total > CaptureLimits.ViewerQueueBytes)
        {
            // Both counters are put back: whichever refused, the packet is not queued.
            Interlocked.Decrement(ref _queued);
            Interlocked.Add(ref _queuedBytes, -bytes);
            Interlocked.Increment(ref _dropped[interfaceId]);
            return;
        }
        _items.Writer.TryWrite(new ViewerItem(interfaceId, packet, null));
    }

    /// <summary>An end always gets in (one per interface at most): the queue's bound is on packets.</summary>
    internal void SourceEnded(int interfaceId, Exception? error) => _items.Writer.TryWrite(new ViewerItem(interfaceId, null, error));

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _items.Writer.TryComplete();
        foreach (var source in _sources)
        {
            _hub.Leave(this, source);
        }
        _hub.Release(_userId);
    }
}
