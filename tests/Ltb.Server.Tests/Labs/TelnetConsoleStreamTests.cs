using System.Net;
using System.Net.Sockets;
using Ltb.Runtime.Nodes;
using Ltb.Server.Consoles.Targets;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// The telnet console's protocol against a scripted server on loopback (ConsoleTargetTests drives busybox telnetd): what
/// is answered, what is taken out of the output, what is escaped on the way in, and that an option already agreed is not
/// answered again (two ends never loop).
/// </summary>
public sealed class TelnetConsoleStreamTests
{
    private const byte Iac = 255, Do = 253, Will = 251, Wont = 252, Sb = 250, Se = 240, Echo = 1, Ttype = 24, Naws = 31;

    [Fact]
    public async Task Negotiation_is_answered_once_commands_leave_the_output_and_input_is_escaped()
    {
        var ct = TestContext.Current.CancellationToken;
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint, ct);
        using var server = await listener.AcceptSocketAsync(ct);
        await using var telnet = new TelnetConsoleStream(client, new TerminalSize(30, 100));

        await server.SendAsync(new byte[] { Iac, Do, Naws, Iac, Will, Echo, Iac, Do, Ttype, (byte)'a', (byte)'b', Iac, Iac, (byte)'c',
            Iac, Sb, Ttype, 1, Iac, Se, (byte)'d', Iac, Will, Echo }, ct);
        Assert.Equal(new byte[] { (byte)'a', (byte)'b', Iac, (byte)'c', (byte)'d' }, await ReadAsync(telnet, 5));
        byte[] replies = [Iac, Will, Naws, Iac, Sb, Naws, 0, 100, 0, 30, Iac, Se, Iac, Do, Echo, Iac, Wont, Ttype];
        Assert.Equal(replies, await ReceiveAsync(server, replies.Length));

        await telnet.WriteAsync(new byte[] { (byte)'x', Iac, (byte)'\r', (byte)'y', (byte)'\r', (byte)'\n' }, ct);
        await telnet.ResizeAsync(new TerminalSize(40, 255), ct);
        // The second WILL ECHO got no answer: the next bytes are the input and the new size (a 255 doubled).
        byte[] expected = [(byte)'x', Iac, Iac, (byte)'\r', 0, (byte)'y', (byte)'\r', (byte)'\n', Iac, Sb, Naws, 0, 255, 255, 0, 40, Iac, Se];
        Assert.Equal(expected, await ReceiveAsync(server, expected.Length));

        server.Shutdown(SocketShutdown.Both);
        var buffer = new byte[16];
        Assert.Equal(0, (await telnet.ReadAsync(buffer, ct)).Count);
    }

    private static async Task<byte[]> ReadAsync(TelnetConsoleStream telnet, int count)
    {
        var output = new List<byte>();
        var buffer = new byte[64];
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(10));
        while (output.Count < count)
        {
            var (_, n) = await telnet.ReadAsync(buffer, limit.Token);
            Assert.NotEqual(0, n);
            output.AddRange(buffer[..n]);
        }
        return [.. output];
    }

    private static async Task<byte[]> ReceiveAsync(Socket socket, int count)
    {
        var received = new byte[count];
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(10));
        for (var at = 0; at < count;)
        {
            var n = await socket.ReceiveAsync(received.AsMemory(at), limit.Token);
            Assert.NotEqual(0, n);
            at += n;
        }
        return received;
    }
}
