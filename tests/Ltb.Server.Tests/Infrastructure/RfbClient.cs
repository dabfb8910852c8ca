using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;

namespace Ltb.Server.Tests.Infrastructure;

/// <summary>
/// The client side of RFB (RFC 6143) as far as a test needs it, written out by hand: the version, security type None,
/// ClientInit, ServerInit, one FramebufferUpdateRequest and the header of the FramebufferUpdate that answers it. It
/// runs over the display WebSocket (binary messages, cut anywhere) or over a TCP stream (`ltb vnc`).
/// </summary>
internal sealed class RfbClient(Func<Memory<byte>, CancellationToken, ValueTask<int>> read, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write)
{
    public const string Version = "RFB 003.008\n";

    /// <summary>What ServerInit said.</summary>
    public sealed record Screen(int Width, int Height, string Name);

    public static RfbClient Over(WebSocket socket) => new(async (buffer, ct) =>
    {
        var r = await socket.ReceiveAsync(buffer, ct);
        return r.MessageType == WebSocketMessageType.Close ? 0 : r.Count;
    }, (data, ct) => socket.SendAsync(data, WebSocketMessageType.Binary, true, ct));

    public static RfbClient Over(Stream stream) => new(stream.ReadAsync, stream.WriteAsync);

    /// <summary>Exactly <paramref name="count"/> bytes, however the transport cut them.</summary>
    public async Task<byte[]> ReadExactlyAsync(int count, CancellationToken ct)
    {
        var bytes = new byte[count];
        for (var at = 0; at < count;)
        {
            var n = await read(bytes.AsMemory(at), ct);
            if (n == 0)
            {
                throw new EndOfStreamException($"the RFB stream ended after {at} of {count} bytes");
            }
            at += n;
        }
        return bytes;
    }

    /// <summary>The server's version banner (12 bytes: "RFB 003.008\n").</summary>
    public async Task<string> BannerAsync(CancellationToken ct) => Encoding.ASCII.GetString(await ReadExactlyAsync(12, ct));

    /// <summary>From the banner to ServerInit, with security type None (1), shared.</summary>
    public async Task<Screen> HandshakeAsync(CancellationToken ct)
    {
        var banner = await BannerAsync(ct);
        Assert.Equal(Version, banner);
        await write(Encoding.ASCII.GetBytes(Version), ct);
        var count = (await ReadExactlyAsync(1, ct))[0];
        Assert.True(count > 0, "the server offered no security type (a reason follows)");
        var types = await ReadExactlyAsync(count, ct);
        Assert.Contains((byte)1, types); // None: QEMU's VNC server on a unix socket without a password
        await write(new byte[] { 1 }, ct);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(await ReadExactlyAsync(4, ct))); // SecurityResult OK
        await write(new byte[] { 1 }, ct); // ClientInit: shared
        var init = await ReadExactlyAsync(2 + 2 + 16 + 4, ct);
        var nameLength = (int)BinaryPrimitives.ReadUInt32BigEndian(init.AsSpan(20));
        Assert.InRange(nameLength, 0, 4096);
        var name = Encoding.UTF8.GetString(await ReadExactlyAsync(nameLength, ct));
        return new Screen(BinaryPrimitives.ReadUInt16BigEndian(init), BinaryPrimitives.ReadUInt16BigEndian(init.AsSpan(2)), name);
    }

    /// <summary>A full (not incremental) FramebufferUpdateRequest of the screen; answers the update's rectangle count.</summary>
    public async Task<int> RequestUpdateAsync(Screen screen, CancellationToken ct)
    {
        var request = new byte[10];
        request[0] = 3; // FramebufferUpdateRequest
        request[1] = 0; // incremental: no
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), (ushort)screen.Width);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(8), (ushort)screen.Height);
        await write(request, ct);
        var header = await ReadExactlyAsync(4, ct);
        Assert.Equal(0, header[0]); // FramebufferUpdate
        return BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2));
    }
}
