using System.Text;
using System.Threading.Channels;
using Ltb.Runtime.Nodes;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Ltb.Server.Consoles.Targets;

/// <summary>
/// An SSH shell channel as a console's stream. SSH.NET opens the channel's window as soon as data arrives (no flow
/// control towards the node), so the output is drained into a bounded queue of <see cref="QueueChunks"/> pieces: what
/// arrives while the queue is full (nobody reads the console) is dropped, and the reader is told how much. The shell's
/// exit status is not known to SSH.NET's shell stream: the end of the connection is exit code 0.
/// </summary>
public sealed class SshConsoleStream : IExecSession
{
    public const int ChunkBytes = 32 * 1024;
    public const int QueueChunks = 16;

    private readonly SshClient _client;
    private readonly ShellStream _shell;
    private readonly Channel<byte[]> _output = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(QueueChunks) { SingleReader = true, SingleWriter = true });
    private readonly Task _drain;
    private ReadOnlyMemory<byte> _pending;

    public SshConsoleStream(SshClient client, ShellStream shell)
    {
        _client = client;
        _shell = shell;
        // ShellStream.Read blocks until data comes or the channel closes: a thread of its own, not a pool thread.
        _drain = Task.Factory.StartNew(Drain, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void Drain()
    {
        long dropped = 0;
        try
        {
            var buffer = new byte[ChunkBytes];
            int count;
            while ((count = _shell.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (dropped > 0 && _output.Writer.TryWrite(Encoding.ASCII.GetBytes(
                        $"\r\n[ltb: {dropped} bytes of output dropped while nobody read this console]\r\n")))
                {
                    dropped = 0;
                }
                if (!_output.Writer.TryWrite(buffer[..count]))
                {
                    dropped += count;
                }
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SshException or IOException)
        {
            // The connection ended (or the session was disposed): the reader sees the end.
        }
        finally
        {
            _output.Writer.TryComplete();
        }
    }

    public async ValueTask<(ExecStream Stream, int Count)> ReadAsync(Memory<byte> buffer, CancellationToken ct)
    {
        if (_pending.IsEmpty)
        {
            if (!await _output.Reader.WaitToReadAsync(ct) || !_output.Reader.TryRead(out var next))
            {
                return (ExecStream.Stdout, 0);
            }
            _pending = next;
        }
        var count = Math.Min(buffer.Length, _pending.Length);
        _pending[..count].CopyTo(buffer);
        _pending = _pending[count..];
        return (ExecStream.Stdout, count);
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        try
        {
            // ShellStream buffers writes until a flush.
            await _shell.WriteAsync(data, ct);
            await _shell.FlushAsync(ct);
        }
        catch (Exception e) when (e is SshException or ObjectDisposedException or InvalidOperationException)
        {
            throw new IOException("the SSH connection ended", e);
        }
    }

    /// <summary>What a terminal sends for end of file: ^D.</summary>
    public ValueTask CloseStdinAsync(CancellationToken ct) => WriteAsync(new byte[] { 0x04 }, ct);

    public ValueTask ResizeAsync(TerminalSize size, CancellationToken ct)
    {
        if (size.IsValid)
        {
            try
            {
                _shell.ChangeWindowSize((uint)size.Columns, (uint)size.Rows, 0, 0);
            }
            catch (Exception e) when (e is SshException or ObjectDisposedException or InvalidOperationException)
            {
                throw new IOException("the SSH connection ended", e);
            }
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask SignalAsync(string signal, CancellationToken ct) =>
        ExecSignals.SendAsTerminalAsync(signal, keys => WriteAsync(keys, ct), () =>
        {
            try
            {
                _shell.Close();
            }
            catch (Exception e) when (e is SshException or ObjectDisposedException or InvalidOperationException)
            {
                throw new IOException("the SSH connection ended", e);
            }
        });

    public async Task<long> ExitCodeAsync(CancellationToken ct)
    {
        await _drain.WaitAsync(ct);
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        _shell.Dispose();
        _client.Dispose();
        try
        {
            await _drain.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // SSH.NET's read did not return on disposal: the thread ends with the connection's socket.
        }
    }
}
