using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;

namespace Ltb.Server.Tests.Infrastructure;

/// <summary>
/// The client side of RFB (RFC 6143) as far as a test needs it, written out by hand: the version, security type None,
/// ClientInit, ServerInit, SetEncodings (Raw only), one full FramebufferUpdateRequest and the FramebufferUpdate that
/// answers it, pixels included. It runs over the display WebSocket (binary messages, cut anywhere) or over a TCP stream
/// (`ltb vnc`). Everything is bounded: each step has a time limit, the name, the screen and the update have size limits,
/// and pixels are read in pieces, never the whole update at once.
/// </summary>
internal sealed class RfbClient(Func<Memory<byte>, CancellationToken, ValueTask<int>> read, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write)
{
    public const string Version = "RFB 003.008\n";

    /// <summary>The longest a step (the handshake, one update) may take: QEMU under TCG on a busy machine is slow.</summary>
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(90);

    private const int MaxName = 4096;
    private const int MaxSide = 8192;
    /// <summary>The most distinct pixel values counted (enough to tell a drawn screen from a blank one).</summary>
    private const int MaxColours = 256;
    /// <summary>The most messages other than the update (Bell, SetColourMapEntries, ServerCutText) skipped while waiting.</summary>
    private const int MaxOtherMessages = 16;

    /// <summary>What ServerInit said.</summary>
    public sealed record Screen(int Width, int Height, int BytesPerPixel, string Name);

    /// <summary>One FramebufferUpdate: its rectangles, the pixels they cover and how many distinct pixel values they hold.</summary>
    public sealed record Update(int Rectangles, long Pixels, int Colours);

    public static RfbClient Over(WebSocket socket) => new(async (buffer, ct) =>
    {
        var r = await socket.ReceiveAsync(buffer, ct);
        return r.MessageType == WebSocketMessageType.Close ? 0 : r.Count;
    }, (data, ct) => socket.SendAsync(data, WebSocketMessageType.Binary, true, ct));

    public static RfbClient Over(Stream stream) => new(stream.ReadAsync, stream.WriteAsync);

    /// <summary>Opens a display WebSocket of the API (<paramref name="path"/> from /api/v1) with a bearer token.</summary>
    public static async Task<ClientWebSocket> ConnectAsync(Uri server, string path, string token, string? subprotocol, CancellationToken ct)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        if (subprotocol is not null)
        {
            socket.Options.AddSubProtocol(subprotocol);
        }
        try
        {
            await socket.ConnectAsync(new Uri(server.ToString().Replace("http://", "ws://", StringComparison.Ordinal).TrimEnd('/') + path), ct);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Fills <paramref name="bytes"/>, however the transport cut them.</summary>
    private async Task ReadExactlyAsync(Memory<byte> bytes, CancellationToken ct)
    {
        for (var at = 0; at < bytes.Length;)
        {
            var n = await read(bytes[at..], ct);
            if (n == 0)
            {
                throw new EndOfStreamException($"the RFB stream ended after {at} of {bytes.Length} bytes");
            }
            at += n;
        }
    }

    private async Task<byte[]> ReadExactlyAsync(int count, CancellationToken ct)
    {
        var bytes = new byte[count];
        await ReadExactlyAsync(bytes, ct);
        return bytes;
    }

    private static CancellationTokenSource Step(CancellationToken ct)
    {
        var step = CancellationTokenSource.CreateLinkedTokenSource(ct);
        step.CancelAfter(StepTimeout);
        return step;
    }

    /// <summary>The server's version banner (12 bytes: "RFB 003.008\n").</summary>
    public async Task<string> BannerAsync(CancellationToken ct)
    {
        using var step = Step(ct);
        return Encoding.ASCII.GetString(await ReadExactlyAsync(12, step.Token));
    }

    /// <summary>From the banner to ServerInit, with security type None (1), shared; then SetEncodings: Raw only.</summary>
    public async Task<Screen> HandshakeAsync(CancellationToken ct)
    {
        Assert.Equal(Version, await BannerAsync(ct));
        using var step = Step(ct);
        ct = step.Token;
        await write(Encoding.ASCII.GetBytes(Version), ct);
        var count = (await ReadExactlyAsync(1, ct))[0];
        Assert.True(count > 0, "the server offered no security type (a reason follows)");
        var types = await ReadExactlyAsync(count, ct);
        Assert.Contains((byte)1, types); // None: QEMU's VNC server on a unix socket without a password
        await write(new byte[] { 1 }, ct);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(await ReadExactlyAsync(4, ct))); // SecurityResult OK
        await write(new byte[] { 1 }, ct); // ClientInit: shared
        var init = await ReadExactlyAsync(2 + 2 + 16 + 4, ct);
        var nameLength = BinaryPrimitives.ReadUInt32BigEndian(init.AsSpan(20));
        Assert.InRange(nameLength, 0u, (uint)MaxName);
        var name = Encoding.UTF8.GetString(await ReadExactlyAsync((int)nameLength, ct));
        var screen = new Screen(BinaryPrimitives.ReadUInt16BigEndian(init), BinaryPrimitives.ReadUInt16BigEndian(init.AsSpan(2)), init[4] / 8, name);
        Assert.InRange(screen.Width, 1, MaxSide);
        Assert.InRange(screen.Height, 1, MaxSide);
        Assert.Contains(screen.BytesPerPixel, new[] { 1, 2, 4 });
        // SetEncodings: Raw (0) only, so that every rectangle's pixels come as they are.
        await write(new byte[] { 2, 0, 0, 1, 0, 0, 0, 0 }, ct);
        return screen;
    }

    /// <summary>A full (not incremental) FramebufferUpdateRequest of the screen, and the update that answers it, read to its end.</summary>
    public async Task<Update> RequestUpdateAsync(Screen screen, CancellationToken ct)
    {
        using var step = Step(ct);
        ct = step.Token;
        var request = new byte[10];
        request[0] = 3; // FramebufferUpdateRequest
        request[1] = 0; // incremental: no
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), (ushort)screen.Width);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(8), (ushort)screen.Height);
        await write(request, ct);
        for (var other = 0; ; other++)
        {
            var type = (await ReadExactlyAsync(1, ct))[0];
            if (type == 0)
            {
                return await ReadUpdateAsync(screen, ct);
            }
            Assert.True(other < MaxOtherMessages, $"no framebuffer update after {MaxOtherMessages} other messages");
            await SkipAsync(type, ct);
        }
    }

    /// <summary>
    /// The handshake and one full update, asserted to cover the whole screen and to be drawn (two colours at least: the
    /// firmware's and the kernel's text on a text-mode screen, not a blank one).
    /// </summary>
    public async Task<(Screen Screen, Update Update)> DrawnScreenAsync(string where, CancellationToken ct)
    {
        var screen = await HandshakeAsync(ct);
        var update = await RequestUpdateAsync(screen, ct);
        Assert.True(update.Rectangles >= 1, $"{where}: the framebuffer update carries no rectangle");
        Assert.Equal((long)screen.Width * screen.Height, update.Pixels);
        Assert.True(update.Colours >= 2, $"{where}: the {screen.Width}x{screen.Height} screen holds {update.Colours} colour(s): nothing is drawn on it");
        TestContext.Current.TestOutputHelper?.WriteLine($"{where}: display '{screen.Name}' {screen.Width}x{screen.Height}, " +
            $"{screen.BytesPerPixel} bytes a pixel; update: {update.Rectangles} rectangle(s), {update.Pixels} pixels, {update.Colours} colour(s)");
        return (screen, update);
    }

    /// <summary>The rest of a FramebufferUpdate (after its type): Raw rectangles inside the screen, pixels in pieces.</summary>
    private async Task<Update> ReadUpdateAsync(Screen screen, CancellationToken ct)
    {
        var header = await ReadExactlyAsync(3, ct);
        var rectangles = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(1));
        var colours = new HashSet<uint>();
        var piece = new byte[64 * 1024 / screen.BytesPerPixel * screen.BytesPerPixel];
        long pixels = 0;
        for (var r = 0; r < rectangles; r++)
        {
            var rect = await ReadExactlyAsync(12, ct);
            int x = BinaryPrimitives.ReadUInt16BigEndian(rect), y = BinaryPrimitives.ReadUInt16BigEndian(rect.AsSpan(2));
            int w = BinaryPrimitives.ReadUInt16BigEndian(rect.AsSpan(4)), h = BinaryPrimitives.ReadUInt16BigEndian(rect.AsSpan(6));
            Assert.Equal(0, BinaryPrimitives.ReadInt32BigEndian(rect.AsSpan(8))); // Raw, the only encoding asked for
            Assert.True(x + w <= screen.Width && y + h <= screen.Height, $"rectangle {w}x{h}+{x}+{y} outside the {screen.Width}x{screen.Height} screen");
            pixels += (long)w * h;
            Assert.True(pixels <= (long)screen.Width * screen.Height * 4, "the update carries far more pixels than the screen has");
            for (var left = (long)w * h * screen.BytesPerPixel; left > 0;)
            {
                var chunk = piece.AsMemory(0, (int)Math.Min(piece.Length, left));
                await ReadExactlyAsync(chunk, ct);
                Count(chunk.Span, screen.BytesPerPixel, colours);
                left -= chunk.Length;
            }
        }
        return new Update(rectangles, pixels, colours.Count);
    }

    private static void Count(ReadOnlySpan<byte> data, int bytesPerPixel, HashSet<uint> colours)
    {
        for (var i = 0; i + bytesPerPixel <= data.Length && colours.Count < MaxColours; i += bytesPerPixel)
        {
            colours.Add(bytesPerPixel switch
            {
                1 => data[i],
                2 => BinaryPrimitives.ReadUInt16LittleEndian(data[i..]),
                _ => BinaryPrimitives.ReadUInt32LittleEndian(data[i..]),
            });
        }
    }

    /// <summary>Skips a server message that is not an update: Bell (2), SetColourMapEntries (1), ServerCutText (3).</summary>
    private async Task SkipAsync(byte type, CancellationToken ct)
    {
        switch (type)
        {
            case 2:
                return;
            case 1:
                var entries = await ReadExactlyAsync(5, ct);
                await ReadExactlyAsync(BinaryPrimitives.ReadUInt16BigEndian(entries.AsSpan(3)) * 6, ct);
                return;
            case 3:
                var cut = await ReadExactlyAsync(7, ct);
                var length = BinaryPrimitives.ReadUInt32BigEndian(cut.AsSpan(3));
                Assert.InRange(length, 0u, 64u * 1024);
                await ReadExactlyAsync((int)length, ct);
                return;
            default:
                throw new InvalidDataException($"an RFB server message of type {type} this client does not know");
        }
    }
}
