using System.Net.Sockets;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// A VM's graphical display as an interactive session (the shape every node stream has, <see cref="IExecSession"/>):
/// the raw RFB (VNC) byte stream of QEMU's VNC server on the node's unix socket, both ways, untouched. LTB does not
/// speak RFB: the viewer (noVNC, or a VNC viewer behind `ltb vnc`) does. QEMU serves several viewers at once (shared);
/// the stream ends when QEMU closes the socket (the VM stopped). Terminal operations (resize, signals) do not apply.
/// </summary>
public sealed class VncDisplay : IExecSession
{
    /// <summary>What a node without a display answers: how to give it one.</summary>
    public static string NoDisplay(bool vm) => vm
        ? "it has no display; give its node type 'display: vnc' or the node the label 'ltb.display: vnc' and deploy the lab again (the VM is made anew)"
        : "it has no display: only VM nodes have one (a node type with 'display: vnc', or a VM node labelled 'ltb.display: vnc')";

    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    private VncDisplay(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    public static async Task<VncDisplay> OpenAsync(VmNodeFiles files, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(files.VncSocket), ct);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new VncDisplay(socket);
    }

    public async ValueTask<(ExecStream Stream, int Count)> ReadAsync(Memory<byte> buffer, CancellationToken ct)
    {
        try
        {
            return (ExecStream.Stdout, await _stream.ReadAsync(buffer, ct));
        }
        catch (IOException)
        {
            return (ExecStream.Stdout, 0); // QEMU closed the display (the VM stopped)
        }
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct) => _stream.WriteAsync(data, ct);

    public ValueTask CloseStdinAsync(CancellationToken ct)
    {
        Shutdown(SocketShutdown.Send);
        return ValueTask.CompletedTask;
    }

    /// <summary>QEMU may have closed the socket first (the VM stopped): then there is nothing left to shut.</summary>
    private void Shutdown(SocketShutdown how)
    {
        try
        {
            _socket.Shutdown(how);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>The viewer sets the screen's size in RFB itself; there is no terminal.</summary>
    public ValueTask ResizeAsync(TerminalSize size, CancellationToken ct) => ValueTask.CompletedTask;

    /// <summary>HUP, TERM and KILL hang the display up (the guest keeps running); others mean nothing to a screen.</summary>
    public ValueTask SignalAsync(string signal, CancellationToken ct)
    {
        if (ExecSignals.Number(signal) is 1 or 9 or 15)
        {
            Shutdown(SocketShutdown.Both);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>A display has no exit code of its own: 0 once it ended.</summary>
    public Task<long> ExitCodeAsync(CancellationToken ct) => Task.FromResult(0L);

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
