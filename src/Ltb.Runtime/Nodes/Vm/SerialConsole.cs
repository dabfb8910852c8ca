using System.Net.Sockets;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// A VM's serial console as an interactive session (the shape of every console, <see cref="IExecSession"/>): first the
/// end of the console log (the boot messages printed before anyone connected, at most <see cref="ReplayBytes"/>), then
/// the live line from QEMU's console socket. Signals are the terminal's characters (^C, ^\); hanging up closes the
/// connection, the guest keeps running. QEMU serves one client at a time: a second console waits until the first ends.
/// </summary>
public sealed class SerialConsole : IExecSession
{
    public const int ReplayBytes = 16 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private byte[]? _replay;
    private int _replayAt;

    private SerialConsole(Socket socket, byte[] replay)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _replay = replay.Length == 0 ? null : replay;
    }

    public static async Task<SerialConsole> OpenAsync(VmNodeFiles files, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(files.ConsoleSocket), ct);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new SerialConsole(socket, ReadTail(files.ConsoleLog));
    }

    private static byte[] ReadTail(string file)
    {
        try
        {
            using var f = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var start = Math.Max(0, f.Length - ReplayBytes);
            f.Seek(start, SeekOrigin.Begin);
            var bytes = new byte[f.Length - start];
            f.ReadExactly(bytes);
            return bytes;
        }
        catch (IOException)
        {
            return [];
        }
    }

    public async ValueTask<(ExecStream Stream, int Count)> ReadAsync(Memory<byte> buffer, CancellationToken ct)
    {
        if (_replay is { } replay)
        {
            var n = Math.Min(buffer.Length, replay.Length - _replayAt);
            replay.AsMemory(_replayAt, n).CopyTo(buffer);
            _replayAt += n;
            if (_replayAt == replay.Length)
            {
                _replay = null;
            }
            return (ExecStream.Stdout, n);
        }
        try
        {
            return (ExecStream.Stdout, await _stream.ReadAsync(buffer, ct));
        }
        catch (IOException)
        {
            return (ExecStream.Stdout, 0); // QEMU closed the console (the VM stopped)
        }
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct) => _stream.WriteAsync(data, ct);

    public ValueTask CloseStdinAsync(CancellationToken ct)
    {
        _socket.Shutdown(SocketShutdown.Send);
        return ValueTask.CompletedTask;
    }

    /// <summary>A serial line has no size to set.</summary>
    public ValueTask ResizeAsync(TerminalSize size, CancellationToken ct) => ValueTask.CompletedTask;

    public async ValueTask SignalAsync(string signal, CancellationToken ct) =>
        await ExecSignals.SendAsTerminalAsync(signal, async b => await WriteAsync(b, ct), () => _socket.Shutdown(SocketShutdown.Both));

    /// <summary>A console has no exit code of its own: 0 once it ended.</summary>
    public Task<long> ExitCodeAsync(CancellationToken ct) => Task.FromResult(0L);

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
