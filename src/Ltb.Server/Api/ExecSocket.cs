using System.Net.WebSockets;
using Ltb.Runtime.Nodes;

namespace Ltb.Server.Api;

/// <summary>Relays an interactive exec session over a WebSocket (the framing: Ltb.Contracts.ExecSocketFrames).</summary>
public static class ExecSocket
{
    private const int OutputChunkBytes = 32 * 1024;
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Carries a session over the socket until the command ends (its exit code is sent, the socket closed) or the client
    /// leaves (the session is disposed by the caller, which ends the command). Each side waits for the other: one
    /// message in flight per direction.
    /// </summary>
    public static async Task BridgeAsync(WebSocket socket, IExecSession session, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // The client closing (or breaking the bounds) ends the session: the command has no one to talk to any more.
        var input = Task.Run(async () =>
        {
            try
            {
                await InputAsync(socket, session, stop.Token);
            }
            finally
            {
                await stop.CancelAsync();
            }
        }, CancellationToken.None);
        try
        {
            var buffer = new byte[OutputChunkBytes + 1];
            while (true)
            {
                var (stream, count) = await session.ReadAsync(buffer.AsMemory(1), stop.Token);
                if (count == 0)
                {
                    break;
                }
                buffer[0] = stream == ExecStream.Stderr ? ExecSocketFrames.Stderr : ExecSocketFrames.Stdout;
                await socket.SendAsync(buffer.AsMemory(0, count + 1), WebSocketMessageType.Binary, true, stop.Token);
            }
            var exit = await session.ExitCodeAsync(stop.Token);
            // Not on `stop`: a client closes as soon as it reads the exit code, which ends the input and cancels `stop`;
            // cancelling our close while it is sent would abort the socket, and the client's close would never be answered.
            using var closing = CancellationTokenSource.CreateLinkedTokenSource(ct);
            closing.CancelAfter(CloseTimeout);
            await socket.SendAsync(ExecSocketFrames.Encode(new ExecSocketControl("exit", ExitCode: exit)), WebSocketMessageType.Text, true, closing.Token);
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "exited", closing.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // The client left before the command ended, or did not take our close within CloseTimeout.
        }
        catch (Ltb.Runtime.Status.LabRuntimeException e) when (socket.State == WebSocketState.Open)
        {
            await socket.SendAsync(ExecSocketFrames.Encode(new ExecSocketControl("error", Message: e.Message)), WebSocketMessageType.Text, true, stop.Token);
            await socket.CloseOutputAsync(WebSocketCloseStatus.InternalServerError, "failed", stop.Token);
        }
        finally
        {
            // The client's close answers ours; a client that does not answer is not waited for long.
            stop.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                await input;
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
            {
                // The client went away without closing: the caller disposes the session.
            }
        }
    }

    /// <summary>
    /// Carries the client's messages to the session (stdin, resize, signal, eof) until the client closes;
    /// <paramref name="received"/> is told of each message (a console's idle clock).
    /// </summary>
    internal static async Task InputAsync(WebSocket socket, IExecSession session, CancellationToken ct, Action? received = null)
    {
        var buffer = new byte[ExecSocketFrames.MaxMessageBytes];
        var stdinOpen = true;
        while (await ExecSocketFrames.ReceiveAsync(socket, buffer, ct) is { } message)
        {
            received?.Invoke();
            if (message.Type == WebSocketMessageType.Binary)
            {
                if (stdinOpen && message.Count > 0)
                {
                    stdinOpen = await TryAsync(() => session.WriteAsync(buffer.AsMemory(0, message.Count), ct));
                }
                continue;
            }
            switch (ExecSocketFrames.Decode(buffer.AsSpan(0, message.Count)))
            {
                case { Type: "resize", Rows: { } rows, Cols: { } cols }:
                    await TryAsync(() => session.ResizeAsync(new TerminalSize(rows, cols), ct));
                    break;
                case { Type: "signal", Signal: { } signal } when ExecSignals.Number(signal) is not null:
                    await TryAsync(() => session.SignalAsync(signal, ct));
                    break;
                case { Type: "eof" } when stdinOpen:
                    stdinOpen = false;
                    await TryAsync(() => session.CloseStdinAsync(ct));
                    break;
            }
        }
    }

    /// <summary>
    /// An input operation; false when the command no longer takes it (it ended, or closed its stdin): the output side
    /// reports the end, so the input side only stops sending.
    /// </summary>
    private static async Task<bool> TryAsync(Func<ValueTask> operation)
    {
        try
        {
            await operation();
            return true;
        }
        catch (Exception e) when (e is IOException or Ltb.Runtime.Status.LabRuntimeException or ObjectDisposedException)
        {
            return false;
        }
    }
}
