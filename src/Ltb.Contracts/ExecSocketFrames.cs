using System.Net.WebSockets;
using System.Text.Json;

namespace Ltb.Contracts;

/// <summary>
/// A control message of the interactive exec WebSocket (a text frame, JSON). Client to server: <c>resize</c> (rows,
/// cols), <c>signal</c> (HUP, INT, QUIT, KILL, TERM), <c>eof</c> (close the command's stdin). Server to client:
/// <c>exit</c> (exitCode; the server closes the socket after it), <c>error</c> (message; the session ended without an
/// exit code), <c>session</c> (a console's first message: its Session id, to reattach). Binary frames carry bytes: client to server, stdin; server to client, one byte naming the stream
/// (1 stdout, 2 stderr) then the output. docs/api.md, "Interactive exec".
/// </summary>
public sealed record ExecSocketControl(string Type, int? Rows = null, int? Cols = null, string? Signal = null, long? ExitCode = null,
    string? Message = null, Guid? Session = null);

/// <summary>The framing of the interactive exec WebSocket, shared by the server and its clients.</summary>
public static class ExecSocketFrames
{
    /// <summary>The largest message either side accepts (a stdin piece; an output piece is one byte more than 32 KiB).</summary>
    public const int MaxMessageBytes = 64 * 1024;
    public const byte Stdout = 1;
    public const byte Stderr = 2;

    public static ArraySegment<byte> Encode(ExecSocketControl control) => JsonSerializer.SerializeToUtf8Bytes(control, JsonSerializerOptions.Web);

    /// <summary>Null for a frame that is not a control message (a client's garbage is ignored, not fatal).</summary>
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
}
