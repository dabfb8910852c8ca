using System.Net.WebSockets;
using Ltb.Runtime.Nodes;

namespace Ltb.Server.Api;

/// <summary>
/// Relays a node's display (the raw RFB stream of its VNC server, <see cref="ExecSessionRequest.NodeDisplay"/>) over a
/// WebSocket: every binary message from the viewer goes to the display as it is, every piece the display sends goes to
/// the viewer as one binary message. No framing of LTB's own: noVNC and `ltb vnc` speak RFB over it directly.
/// </summary>
public static class DisplaySocket
{
    /// <summary>The most a message piece carries either way: one piece in flight per direction, nothing queued.</summary>
    public const int ChunkBytes = 32 * 1024;

    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Carries the display until it ends (the node stopped: the socket is closed with a reason) or the viewer leaves (its
    /// close is answered; the caller disposes the display). Each side waits for the other, so a slow viewer slows the VNC
    /// server, never a queue. Only one side sends the close, after the output has stopped sending: never two sends at once.
    /// </summary>
    public static async Task BridgeAsync(WebSocket socket, IExecSession display, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var input = Task.Run(async () =>
        {
            try
            {
                return await InputAsync(socket, display, stop.Token);
            }
            finally
            {
                await stop.CancelAsync();
            }
        }, CancellationToken.None);
        var ended = await OutputAsync(socket, display, stop.Token);
        if (ended is { } displayEnded)
        {
            await CloseAsync(socket, displayEnded, ct);
        }
        // The viewer's answer to our close, or its own close: at most CloseTimeout more.
        stop.CancelAfter(CloseTimeout);
        Closing? left;
        try
        {
            left = await input;
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
        {
            left = null; // the viewer went away without closing
        }
        if (ended is null && left is { } viewerLeft)
        {
            await CloseAsync(socket, viewerLeft, ct);
        }
    }

    /// <summary>How the socket is to be closed.</summary>
    private readonly record struct Closing(WebSocketCloseStatus Status, string Reason);

    /// <summary>The display's bytes to the viewer; answers how to close when the display ended, null when the viewer left.</summary>
    private static async Task<Closing?> OutputAsync(WebSocket socket, IExecSession display, CancellationToken ct)
    {
        try
        {
            var buffer = new byte[ChunkBytes];
            while (true)
            {
                var (_, count) = await display.ReadAsync(buffer, ct);
                if (count == 0)
                {
                    return new Closing(WebSocketCloseStatus.NormalClosure, DisplayEnded);
                }
                await socket.SendAsync(buffer.AsMemory(0, count), WebSocketMessageType.Binary, true, ct);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
        {
            return null; // the viewer left (or went away without closing)
        }
        catch (Ltb.Runtime.Status.LabRuntimeException e)
        {
            // A remote host's display broke off: the reason in the close (at most 123 bytes, as WebSockets allow).
            return new Closing(WebSocketCloseStatus.InternalServerError, Cut(e.Message));
        }
    }

    private const string DisplayEnded = "the display ended (the node stopped)";

    /// <summary>The viewer's bytes to the display, piece by piece as they arrive; answers how to close once the viewer stops.</summary>
    private static async Task<Closing> InputAsync(WebSocket socket, IExecSession display, CancellationToken ct)
    {
        var buffer = new byte[ChunkBytes];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer.AsMemory(), ct);
            switch (received.MessageType)
            {
                case WebSocketMessageType.Close:
                    return new Closing(WebSocketCloseStatus.NormalClosure, "");
                case WebSocketMessageType.Text:
                    return new Closing(WebSocketCloseStatus.InvalidMessageType, "the display takes binary messages (RFB) only");
            }
            if (received.Count > 0)
            {
                try
                {
                    await display.WriteAsync(buffer.AsMemory(0, received.Count), ct);
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or Ltb.Runtime.Status.LabRuntimeException or ObjectDisposedException)
                {
                    return new Closing(WebSocketCloseStatus.NormalClosure, DisplayEnded);
                }
            }
        }
    }

    /// <summary>Sends the close if the socket can still take one, within CloseTimeout; a viewer that is gone is not waited for.</summary>
    private static async Task CloseAsync(WebSocket socket, Closing closing, CancellationToken ct)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(CloseTimeout);
        try
        {
            await socket.CloseOutputAsync(closing.Status, closing.Reason, limit.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
        {
            // The viewer went away meanwhile.
        }
    }

    /// <summary>A close reason is at most 123 bytes.</summary>
    private static string Cut(string reason)
    {
        while (System.Text.Encoding.UTF8.GetByteCount(reason) > 123)
        {
            reason = reason[..^4] + "...";
        }
        return reason;
    }
}
