using System.Net.WebSockets;
using System.Text.Json;
using Ltb.Runtime.Nodes;

namespace Ltb.Server.Api;

/// <summary>
/// A control message of the interactive exec WebSocket (a text frame, JSON). Client to server: <c>resize</c> (rows,
/// cols), <c>signal</c> (HUP, INT, QUIT, KILL, TERM), <c>eof</c> (close the command's stdin). Server to client:
/// <c>exit</c> (exitCode; the server closes the socket after it), <c>error</c> (message; the session ended without an
/// exit code). Binary frames carry bytes: client to server, stdin; server to client, one byte naming the stream
/// (1 stdout, 2 stderr) then the output. docs/api.md, "Interactive exec".
/// </summary>
public sealed record ExecSocketControl(string Type, int? Rows = null, int? Cols = null, string? Signal = null, long? ExitCode = null,
    string? Message = null);

/// <summary>The framing of the interactive exec WebSocket, shared by the server and the CLI.</summary>
public static class ExecSocket
{
    /// <summary>The largest message either side accepts (a stdin piece; an output piece is one byte more than 32 KiB).</summary>
    public const int MaxMessageBytes = 64 * 1024;
    public const byte Stdout = 1;
    public const byte Stderr = 2;
    private const int OutputChunkBytes = 32 * 1024;

    public static ArraySegment<byte> Encode(ExecSocketControl control) => JsonSerializer.SerializeToUtf8Bytes(control, JsonSerializerOptions.Web);

    public static ExecSocketControl? Decode(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize<ExecSocketControl>(json, JsonSerializerOptions.Web);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Reads one whole message into <paramref name="buffer"/> (at most its length). Null: the peer closed, or sent a
    /// message larger than the buffer (the socket is then closed with MessageTooBig).
    /// </summary>
    public static async Task<(WebSocketMessageType Type, int Count)?> ReceiveAsync(WebSocket socket, byte[] buffer, CancellationToken ct)
    {
        var count = 0;
        while (true)
        {
            var r = await socket.ReceiveAsync(buffer.AsMemory(count), ct);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }
            count += r.Count;
            if (r.EndOfMessage)
            {
                return (r.MessageType, count);
            }
            if (count == buffer.Length)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, $"a message is at most {buffer.Length} bytes", ct);
                return null;
            }
        }
    }

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
                buffer[0] = stream == ExecStream.Stderr ? Stderr : Stdout;
                await socket.SendAsync(buffer.AsMemory(0, count + 1), WebSocketMessageType.Binary, true, stop.Token);
            }
            var exit = await session.ExitCodeAsync(stop.Token);
            await socket.SendAsync(Encode(new ExecSocketControl("exit", ExitCode: exit)), WebSocketMessageType.Text, true, stop.Token);
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "exited", stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            // The client left before the command ended.
        }
        catch (Ltb.Runtime.Status.LabRuntimeException e) when (socket.State == WebSocketState.Open)
        {
            await socket.SendAsync(Encode(new ExecSocketControl("error", Message: e.Message)), WebSocketMessageType.Text, true, stop.Token);
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

    private static async Task InputAsync(WebSocket socket, IExecSession session, CancellationToken ct)
    {
        var buffer = new byte[MaxMessageBytes];
        var stdinOpen = true;
        while (await ReceiveAsync(socket, buffer, ct) is { } message)
        {
            if (message.Type == WebSocketMessageType.Binary)
            {
                if (stdinOpen && message.Count > 0)
                {
                    stdinOpen = await TryAsync(() => session.WriteAsync(buffer.AsMemory(0, message.Count), ct));
                }
                continue;
            }
            switch (Decode(buffer.AsSpan(0, message.Count)))
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
