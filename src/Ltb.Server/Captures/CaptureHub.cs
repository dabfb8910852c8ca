using Microsoft.Extensions.Logging;
using Ltb.Contracts;

namespace Ltb.Server.Captures;

/// <summary>
/// What one capture process captures: a node's interface on the lab's host, with the capture's filter and snap length.
/// Viewers asking for the same key share one process (the lab's id, not its name, so a redeployed lab is another).
/// </summary>
/// <param name="Mirror">Interface is a mirror interface of the lab (Node: the node it mirrors).</param>
public sealed record CaptureKey(Guid LabId, string RuntimeLab, string Node, string Interface, string Filter, int SnapLength, bool Mirror = false);

/// <summary>Starts the capture a source reads: pcap bytes to the writer until the token is cancelled (the agent's CaptureAsync).</summary>
public delegate Task CaptureStart(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, CancellationToken ct);

/// <summary>
/// The server's live captures: one <see cref="CaptureSource"/> (one tcpdump on the lab's host) per <see cref="CaptureKey"/>,
/// fanned out to every <see cref="CaptureViewer"/> (one per request) that asks for it; the source stops when its last
/// viewer leaves. A user has at most <see cref="CaptureLimits.MaxPerUser"/> viewers open. Everything is in memory:
/// a capture lives as long as the request that reads it, on the replica that serves the request.
/// </summary>
public sealed class CaptureHub(ILogger<CaptureHub> log)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<CaptureKey, CaptureSource> _sources = [];
    private readonly Dictionary<Guid, int> _viewersPerUser = [];

    /// <summary>The capture processes running for this server now (one per shared key).</summary>
    public int RunningSources
    {
        get
        {
            lock (_lock)
            {
                return _sources.Count;
            }
        }
    }

    /// <summary>A viewer for one request of <paramref name="userId"/>, or null when the user has the most open already.</summary>
    public CaptureViewer? OpenViewer(Guid userId)
    {
        lock (_lock)
        {
            var open = _viewersPerUser.GetValueOrDefault(userId);
            if (open >= CaptureLimits.MaxPerUser)
            {
                return null;
            }
            _viewersPerUser[userId] = open + 1;
        }
        return new CaptureViewer(this, userId);
    }

    internal CaptureSource Join(CaptureViewer viewer, int interfaceId, CaptureKey key, CaptureStart start)
    {
        CaptureSource? fresh = null;
        CaptureSource source;
        lock (_lock)
        {
            if (!_sources.TryGetValue(key, out var running) || running.Ended)
            {
                running = fresh = new CaptureSource(key, this);
                _sources[key] = running;
            }
            source = running;
            source.Add(viewer, interfaceId);
        }
        fresh?.Start(start, log);
        return source;
    }

    internal void Leave(CaptureViewer viewer, CaptureSource source)
    {
        bool last;
        lock (_lock)
        {
            last = source.Remove(viewer);
            if (last)
            {
                Forget(source);
            }
        }
        if (last)
        {
            source.Stop();
        }
    }

    internal void Ended(CaptureSource source)
    {
        lock (_lock)
        {
            Forget(source);
        }
    }

    internal void Release(Guid userId)
    {
        lock (_lock)
        {
            var open = _viewersPerUser.GetValueOrDefault(userId) - 1;
            if (open <= 0)
            {
                _viewersPerUser.Remove(userId);
            }
            else
            {
                _viewersPerUser[userId] = open;
            }
        }
    }

    private void Forget(CaptureSource source)
    {
        if (_sources.TryGetValue(source.Key, out var current) && current == source)
        {
            _sources.Remove(source.Key);
        }
    }
}
