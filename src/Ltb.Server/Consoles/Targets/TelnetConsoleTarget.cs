using System.Net.Sockets;
using Ltb.Runtime.Nodes;
using Ltb.Topology.Catalog;

namespace Ltb.Server.Consoles.Targets;

/// <summary>
/// The node's telnet server (port 23 of its management address, or the node type's console-port): a TCP connection with the little of telnet a terminal
/// needs (<see cref="TelnetConsoleStream"/>). No automatic login: the node's prompt asks, the node type's credentials are
/// in the access information. Like ssh, it needs the management network reachable from the LTB server.
/// </summary>
public sealed class TelnetConsoleTarget : IConsoleTarget
{
    public const int Port = 23;
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    public ConsoleType Type => ConsoleType.Telnet;

    public async Task<IExecSession> OpenAsync(ConsoleTargetRequest request, CancellationToken ct)
    {
        var address = request.RequireAddress(Type);
        var port = request.Port ?? Port;
        var where = $"telnet to node '{request.Node}' ({address}:{port})";
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(ConnectTimeout);
            await socket.ConnectAsync(address, port, limit.Token);
            return new TelnetConsoleStream(socket, request.InitialSize);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new ConsoleTargetException(e.SocketErrorCode == SocketError.ConnectionRefused
                ? $"{where}: connection refused; the node has no telnet server running (still booting?) or its console is not telnet (try target=shell or target=ssh)"
                : $"{where}: {e.Message}; the node's management network must be reachable from the LTB server", e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            socket.Dispose();
            throw new ConsoleTargetException(
                $"{where}: no answer within {ConnectTimeout.TotalSeconds:0} s; the node's management network must be reachable from the LTB server", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
