using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Ltb.Cli.Api;
using Ltb.Client;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb vnc LAB NODE [--listen 127.0.0.1:5900]`: a VM node's display for any VNC viewer. It listens on a local TCP port
/// (loopback by default) and carries each connection it accepts over its own display WebSocket of the API (the raw RFB
/// stream, docs/api.md "VNC display"), so the viewer talks to the VM's VNC server as if it were local. Ctrl-C ends it.
/// </summary>
internal static class VncCommand
{
    /// <summary>The most viewers served at once; more are turned away (each holds a WebSocket and two buffers).</summary>
    public const int MaxConnections = 8;

    private const int ChunkBytes = 32 * 1024;

    public static Command Create(Argument<string> lab, Option<string> server)
    {
        var node = new Argument<string>("NODE") { Description = "The VM node (one with a display: node type 'display: vnc' or label 'ltb.display: vnc')." };
        var listen = new Option<string>("--listen", "-l")
        {
            Description = "Where to listen for VNC viewers, ADDRESS:PORT (port 0: any free port)",
            DefaultValueFactory = _ => "127.0.0.1:5900",
        };
        var command = new Command("vnc", "Open a VM node's graphical display to a VNC viewer: listens locally and forwards each connection through LTB.")
        {
            lab, node, listen, server,
        };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var text = parse.GetValue(listen)!;
            if (!IPEndPoint.TryParse(text, out var at) || text.LastIndexOf(':') <= text.LastIndexOf(']'))
            {
                throw new LtbApiException(0, $"--listen takes ADDRESS:PORT (e.g. 127.0.0.1:5900, [::1]:5901), not '{text}'");
            }
            using var client = ServerConnection.Connect(parse.GetValue(server));
            return await ServeAsync(client, parse.GetValue(lab)!, parse.GetValue(node)!, at, ct);
        }));
        return command;
    }

    private static async Task<int> ServeAsync(LtbApiClient client, string lab, string node, IPEndPoint at, CancellationToken ct)
    {
        // One connection first, closed at once: a node without a display or a lab one may not use is said now, not
        // to a viewer that shows only "connection closed".
        using (var probe = await client.OpenDisplaySocketAsync(lab, node, ct))
        {
            await CloseAsync(probe);
        }
        var listener = new TcpListener(at);
        try
        {
            listener.Start();
        }
        catch (SocketException e)
        {
            throw new LtbApiException(0, $"cannot listen on {at}: {e.Message} (choose another with --listen, e.g. 127.0.0.1:0 for any free port)", e);
        }
        using var stop = ct.Register(listener.Stop);
        var bound = (IPEndPoint)listener.LocalEndpoint;
        if (!IPAddress.IsLoopback(bound.Address))
        {
            Console.Error.WriteLine($"ltb: warning: {bound} is not a loopback address: whoever reaches it gets the display of {lab}/{node}, without a password");
        }
        Console.Out.WriteLine($"Listening on {Format(bound)} for the display of {lab}/{node}: point a VNC viewer at it (e.g. vncviewer {Format(bound)}); Ctrl-C ends.");
        Console.Out.Flush();
        var open = 0;
        var viewers = new List<Task>();
        while (!ct.IsCancellationRequested)
        {
            TcpClient viewer;
            try
            {
                viewer = await listener.AcceptTcpClientAsync(ct);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException && ct.IsCancellationRequested)
            {
                break;
            }
            if (Interlocked.Increment(ref open) > MaxConnections)
            {
                Interlocked.Decrement(ref open);
                Console.Error.WriteLine($"ltb: turned a viewer away: {MaxConnections} are connected, the most at once");
                viewer.Dispose();
                continue;
            }
            viewers.RemoveAll(t => t.IsCompleted);
            viewers.Add(Task.Run(async () =>
            {
                try
                {
                    await ForwardAsync(client, lab, node, viewer, ct);
                }
                finally
                {
                    Interlocked.Decrement(ref open);
                }
            }, CancellationToken.None));
        }
        await Task.WhenAll(viewers);
        return 0;
    }

    /// <summary>`host::port` is what VNC viewers take for a port (a single colon means a display number).</summary>
    private static string Format(IPEndPoint at) => $"{(at.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{at.Address}]" : at.Address)}::{at.Port}";

    /// <summary>One viewer: its bytes over a display WebSocket of its own, both ways, until either side ends.</summary>
    private static async Task ForwardAsync(LtbApiClient client, string lab, string node, TcpClient viewer, CancellationToken ct)
    {
        using (viewer)
        {
            var from = viewer.Client.RemoteEndPoint;
            try
            {
                using var socket = await client.OpenDisplaySocketAsync(lab, node, ct);
                var stream = viewer.GetStream();
                using var done = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var up = UpAsync(stream, socket, done.Token);
                var down = DownAsync(socket, stream, done.Token);
                await Task.WhenAny(up, down);
                await done.CancelAsync();
                await Task.WhenAll(up, down).ContinueWith(_ => { }, TaskScheduler.Default);
                await CloseAsync(socket);
            }
            catch (Exception e) when (e is LtbApiException or WebSocketException or IOException or SocketException)
            {
                Console.Error.WriteLine($"ltb: the viewer from {from} was disconnected: {e.Message}");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl-C
            }
        }
    }

    /// <summary>The viewer's bytes to the display; the viewer hanging up ends the WebSocket's sending side.</summary>
    private static async Task UpAsync(NetworkStream viewer, ClientWebSocket socket, CancellationToken ct)
    {
        var buffer = new byte[ChunkBytes];
        int read;
        while ((read = await viewer.ReadAsync(buffer, ct)) > 0)
        {
            await socket.SendAsync(buffer.AsMemory(0, read), WebSocketMessageType.Binary, true, ct);
        }
    }

    /// <summary>The display's bytes to the viewer, until the server closes (the node stopped, or the display broke off).</summary>
    private static async Task DownAsync(ClientWebSocket socket, NetworkStream viewer, CancellationToken ct)
    {
        var buffer = new byte[ChunkBytes];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer.AsMemory(), ct);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                if (socket.CloseStatus is not WebSocketCloseStatus.NormalClosure && socket.CloseStatusDescription is { Length: > 0 } why)
                {
                    Console.Error.WriteLine($"ltb: the display closed: {why}");
                }
                return;
            }
            await viewer.WriteAsync(buffer.AsMemory(0, received.Count), ct);
        }
    }

    private static async Task CloseAsync(ClientWebSocket socket)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "viewer left", limit.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // The server went first.
        }
    }
}
