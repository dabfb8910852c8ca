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
    /// Carries the display until it ends (the node stopped: the socket is closed with a reason) or the viewer leaves (the
    /// caller disposes the display). Each side waits for the other, so a slow viewer slows the VNC server, never a queue.
    /// </summary>
    public static async Task BridgeAsync(WebSocket socket, IExecSession display, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var input = Task.Run(async () =>
        {
            try
            {
                await InputAsync(socket, display, stop.Token);
            }
            finally
            {
                await stop.CancelAsync();
            }
        }, CancellationToken.None);
        try
        {
            var buffer = new byte[ChunkBytes];
            while (true)
            {
                var (_, count) = await display.ReadAsync(buffer, stop.Token);
                if (count == 0)
                {
                    break;
                }
                await socket.SendAsync(buffer.AsMemory(0, count), WebSocketMessageType.Binary, true, stop.Token);
            }
            using var closing = CancellationTokenSource.CreateLinkedTokenSource(ct);
            closing.CancelAfter(CloseTimeout);
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "the display ended (the node stopped)", closing.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // The viewer left first.
        }
        catch (Exception e) when (e is WebSocketException or IOException)
        {
            // The viewer went away without closing.
        }
        catch (Ltb.Runtime.Status.LabRuntimeException e) when (socket.State == WebSocketState.Open)
        {
            // A remote host's display broke off: the reason in the close (at most 123 bytes, as WebSockets allow).
            await socket.CloseOutputAsync(WebSocketCloseStatus.InternalServerError, Cut(e.Message), CancellationToken.None);
        }
        finally
        {
            stop.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                await input;
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
            {
                // The viewer went away without closing: the caller disposes the display.
            }
        }
    }

    /// <summary>The viewer's bytes to the display, piece by piece as they arrive, until the viewer closes.</summary>
    private static async Task InputAsync(WebSocket socket, IExecSession display, CancellationToken ct)
    {
        var buffer = new byte[ChunkBytes];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer.AsMemory(), ct);
            switch (received.MessageType)
            {
                case WebSocketMessageType.Close:
                    return;
                case WebSocketMessageType.Text:
                    await socket.CloseOutputAsync(WebSocketCloseStatus.InvalidMessageType, "the display takes binary messages (RFB) only", ct);
                    return;
            }
            if (received.Count > 0)
            {
                try
                {
                    await display.WriteAsync(buffer.AsMemory(0, received.Count), ct);
                }
                catch (Exception e) when (e is IOException or Ltb.Runtime.Status.LabRuntimeException or ObjectDisposedException)
                {
                    return; // the display ended: the output side closes the socket
                }
            }
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
