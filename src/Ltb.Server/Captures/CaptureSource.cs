using Microsoft.Extensions.Logging;
using Ltb.Runtime.Status;

namespace Ltb.Server.Captures;

/// <summary>
/// One capture process (tcpdump on the lab's host, through the host's agent) and the viewers it feeds. Its bytes are
/// read one piece at a time and each packet is offered to every viewer without waiting (<see cref="CaptureViewer.Offer"/>):
/// a slow viewer loses packets, the capture and the other viewers go on. It is stopped (the process killed) when its
/// last viewer leaves (<see cref="CaptureHub"/>), and tells its viewers when it ends on its own (the interface or the
/// lab went, the host failed).
/// </summary>
public sealed class CaptureSource : IDisposable
{
    private readonly CaptureHub _hub;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<PcapHeader> _header = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Replaced (never changed) under the hub's lock; the reading loop takes the current array without locking.
    private volatile (CaptureViewer Viewer, int InterfaceId)[] _viewers = [];
    private volatile bool _ended;

    internal CaptureSource(CaptureKey key, CaptureHub hub)
    {
        Key = key;
        _hub = hub;
    }

    public CaptureKey Key { get; }

    /// <summary>The interface's link type and snap length once the capture runs; the capture's failure (e.g. a filter libpcap refused) otherwise.</summary>
    public Task<PcapHeader> Header => _header.Task;

    internal bool Ended => _ended;

    internal void Add(CaptureViewer viewer, int interfaceId) => _viewers = [.. _viewers, (viewer, interfaceId)];

    /// <summary>Removes the viewer; true when it was the last.</summary>
    internal bool Remove(CaptureViewer viewer)
    {
        _viewers = _viewers.Where(v => v.Viewer != viewer).ToArray();
        return _viewers.Length == 0;
    }

    internal void Start(CaptureStart start, ILogger log) => _ = Task.Run(() => RunAsync(start, log));

    internal void Stop()
    {
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // It had ended already.
        }
    }

    private async Task RunAsync(CaptureStart start, ILogger log)
    {
        var pcap = new PcapStream();
        Exception? failure = null;
        try
        {
            await start((bytes, _) =>
            {
                foreach (var packet in pcap.Feed(bytes.Span))
                {
                    foreach (var (viewer, id) in _viewers)
                    {
                        viewer.Offer(id, packet);
                    }
                }
                if (pcap.Header is { } header)
                {
                    _header.TrySetResult(header);
                }
                return ValueTask.CompletedTask;
            }, _stop.Token);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The last viewer left.
        }
        catch (Exception e)
        {
            failure = e;
            if (e is not LabRuntimeException)
            {
                log.LogWarning(e, "capture of {Lab}/{Node}:{Interface} failed", Key.RuntimeLab, Key.Node, Key.Interface);
            }
        }
        finally
        {
            _ended = true;
            _hub.Ended(this);
            _header.TrySetException(failure ?? new LabRuntimeException(Key.RuntimeLab, Key.Node, $"the capture of {Key.Interface} ended before it began"));
            foreach (var (viewer, id) in _viewers)
            {
                viewer.SourceEnded(id, failure);
            }
            Dispose();
        }
    }

    public void Dispose() => _stop.Dispose();
}
