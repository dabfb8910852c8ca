using System.Net.WebSockets;
using System.Threading.Channels;

namespace Ltb.Server.Consoles;

/// <summary>
/// One WebSocket attached to a console session (its owner's, or a watcher's). What the session sends it goes through a
/// small bounded queue to one sender: a client that does not read fills the queue and is dropped (the session decides
/// when), never buffered without bound.
/// </summary>
public sealed class ConsoleClient(WebSocket socket, Guid userId, string userName, bool readOnly) : IDisposable
{
    /// <summary>Frames queued for one client: at most this many output pieces (32 KiB each) wait for it.</summary>
    public const int QueueFrames = 16;

    private readonly Channel<(byte[] Data, WebSocketMessageType Type)> _out =
        Channel.CreateBounded<(byte[], WebSocketMessageType)>(new BoundedChannelOptions(QueueFrames) { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();

    public Guid UserId { get; } = userId;
    public string UserName { get; } = userName;
    public bool ReadOnly { get; } = readOnly;
    public WebSocket Socket { get; } = socket;

    /// <summary>Cancelled when the client is dropped (or leaves): its input loop stops with it.</summary>
    public CancellationToken Stopping => _stop.Token;

    /// <summary>Queues a frame if there is room; false: the client is behind.</summary>
    public bool TryEnqueue(byte[] data, WebSocketMessageType type = WebSocketMessageType.Binary) => _out.Writer.TryWrite((data, type));

    /// <summary>Queues a frame, waiting at most <paramref name="patience"/> for room (the back-pressure of the owner's view).</summary>
    public async Task<bool> EnqueueAsync(byte[] data, TimeSpan patience)
    {
        try
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            wait.CancelAfter(patience);
            await _out.Writer.WriteAsync((data, WebSocketMessageType.Binary), wait.Token);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Sends what is queued, then closes the socket: ends when <see cref="Finish"/> or <see cref="Drop"/> ends the queue.</summary>
    public async Task SendAsync()
    {
        try
        {
            await foreach (var (data, type) in _out.Reader.ReadAllAsync(_stop.Token))
            {
                await Socket.SendAsync(data, type, true, _stop.Token);
            }
            // Not linked to _stop: a client that closes as soon as the session ends is detached (and stopped) by its own
            // close; cancelling ours while it is sent would abort the socket instead of answering the client's.
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "console closed", limit.Token);
            // The client's close answers ours and ends the input loop; a client that does not answer is not waited for long.
            _stop.CancelAfter(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
        {
            // Dropped, or the client went away: the input loop must not wait for a client that no longer gets anything.
            await _stop.CancelAsync();
        }
    }

    /// <summary>Sends <paramref name="last"/> (if any) after what is queued, then closes the socket.</summary>
    public void Finish(byte[]? last = null)
    {
        if (last is { Length: > 0 })
        {
            _out.Writer.TryWrite((last, WebSocketMessageType.Text));
        }
        _out.Writer.TryComplete();
    }

    /// <summary>Disconnects the client now: a client that is behind is not waited for.</summary>
    public void Drop()
    {
        _out.Writer.TryComplete();
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The pump may drop a client that has left (and been disposed) since it looked.
        }
    }

    public void Dispose() => _stop.Dispose();
}
