using System.Net.Sockets;
using Ltb.Runtime.Nodes;

namespace Ltb.Server.Consoles.Targets;

/// <summary>
/// A telnet connection as a console's stream (RFC 854, and just enough option negotiation for a terminal): the server's
/// commands are taken out of the output; it may ECHO and SUPPRESS-GO-AHEAD (character at a time, as every device
/// console does); we do SUPPRESS-GO-AHEAD and NAWS (RFC 1073: the window size, sent again on each resize) and refuse
/// everything else. An option's answer is sent only when its state changes, so two ends never loop. The socket is read
/// only when the console reads: TCP's flow control is the back-pressure, nothing is buffered here beyond one read.
/// </summary>
public sealed class TelnetConsoleStream : IExecSession
{
    private const byte Iac = 255, Dont = 254, Do = 253, Wont = 252, Will = 251, Sb = 250, Se = 240;
    private const byte OptEcho = 1, OptSuppressGoAhead = 3, OptNaws = 31;
    private const int SubnegotiationMax = 64;

    private readonly Socket _socket;
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly byte[] _in = new byte[16 * 1024];
    // The options in force (each way); locked on _weDo: the reader negotiates while a resize asks about NAWS.
    private readonly HashSet<byte> _weDo = [], _theyDo = [];
    private TerminalSize _size;
    private State _state = State.Data;
    private byte _verb;
    private int _subnegotiated;

    private enum State { Data, Command, Option, Subnegotiation, SubnegotiationIac }

    public TelnetConsoleStream(Socket socket, TerminalSize size)
    {
        _socket = socket;
        _size = size;
    }

    public async ValueTask<(ExecStream Stream, int Count)> ReadAsync(Memory<byte> buffer, CancellationToken ct)
    {
        while (true)
        {
            var want = Math.Min(buffer.Length, _in.Length);
            int received;
            try
            {
                received = await _socket.ReceiveAsync(_in.AsMemory(0, want), ct);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                throw new IOException("the telnet connection ended", e);
            }
            if (received == 0)
            {
                return (ExecStream.Stdout, 0);
            }
            var (count, replies) = Parse(_in.AsSpan(0, received), buffer.Span);
            if (replies.Count > 0)
            {
                await SendAsync(replies.ToArray(), ct);
            }
            // A piece that was all negotiation is not the end of the output: read on.
            if (count > 0)
            {
                return (ExecStream.Stdout, count);
            }
        }
    }

    /// <summary>Takes the telnet commands out of <paramref name="input"/>: the data goes to <paramref name="output"/> (never longer than the input).</summary>
    private (int Count, List<byte> Replies) Parse(ReadOnlySpan<byte> input, Span<byte> output)
    {
        var count = 0;
        var replies = new List<byte>();
        foreach (var b in input)
        {
            switch (_state)
            {
                case State.Data when b == Iac:
                    _state = State.Command;
                    break;
                case State.Data:
                    output[count++] = b;
                    break;
                case State.Command when b == Iac:
                    output[count++] = Iac;
                    _state = State.Data;
                    break;
                case State.Command when b is Do or Dont or Will or Wont:
                    _verb = b;
                    _state = State.Option;
                    break;
                case State.Command when b == Sb:
                    _subnegotiated = 0;
                    _state = State.Subnegotiation;
                    break;
                case State.Command:
                    _state = State.Data; // NOP, GA, AYT...: nothing to do
                    break;
                case State.Option:
                    Negotiate(_verb, b, replies);
                    _state = State.Data;
                    break;
                case State.Subnegotiation:
                    // Nothing we agreed to has subnegotiations from the server: skipped, and a runaway one is cut short.
                    _state = b == Iac ? State.SubnegotiationIac : ++_subnegotiated > SubnegotiationMax ? State.Data : State.Subnegotiation;
                    break;
                case State.SubnegotiationIac:
                    _state = b == Se ? State.Data : State.Subnegotiation;
                    break;
            }
        }
        return (count, replies);
    }

    private void Negotiate(byte verb, byte option, List<byte> replies)
    {
        lock (_weDo)
        {
            NegotiateLocked(verb, option, replies);
        }
    }

    private void NegotiateLocked(byte verb, byte option, List<byte> replies)
    {
        switch (verb)
        {
            case Do when option is OptSuppressGoAhead or OptNaws:
                if (_weDo.Add(option))
                {
                    replies.AddRange([Iac, Will, option]);
                }
                if (option == OptNaws)
                {
                    replies.AddRange(WindowSize(_size));
                }
                break;
            case Do:
                replies.AddRange([Iac, Wont, option]);
                break;
            case Dont when _weDo.Remove(option):
                replies.AddRange([Iac, Wont, option]);
                break;
            case Will when option is OptEcho or OptSuppressGoAhead:
                if (_theyDo.Add(option))
                {
                    replies.AddRange([Iac, Do, option]);
                }
                break;
            case Will:
                replies.AddRange([Iac, Dont, option]);
                break;
            case Wont when _theyDo.Remove(option):
                replies.AddRange([Iac, Dont, option]);
                break;
        }
    }

    /// <summary>NAWS: width and height, 16 bits each, a 255 doubled.</summary>
    private static List<byte> WindowSize(TerminalSize size)
    {
        var message = new List<byte> { Iac, Sb, OptNaws };
        foreach (var value in new[] { size.Columns, size.Rows })
        {
            foreach (var b in new[] { (byte)(value >> 8), (byte)value })
            {
                message.Add(b);
                if (b == Iac)
                {
                    message.Add(Iac);
                }
            }
        }
        message.AddRange([Iac, Se]);
        return message;
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct) => SendAsync(Escape(data.Span), ct);

    /// <summary>255 is doubled; a carriage return not followed by a line feed is sent as CR NUL (RFC 854: what an Enter key is).</summary>
    private static byte[] Escape(ReadOnlySpan<byte> data)
    {
        var escaped = new List<byte>(data.Length + 8);
        for (var i = 0; i < data.Length; i++)
        {
            escaped.Add(data[i]);
            if (data[i] == Iac)
            {
                escaped.Add(Iac);
            }
            else if (data[i] == '\r' && (i + 1 == data.Length || data[i + 1] != '\n'))
            {
                escaped.Add(0);
            }
        }
        return [.. escaped];
    }

    private async ValueTask SendAsync(byte[] data, CancellationToken ct)
    {
        // The reader answers negotiations while the user types: one sender at a time.
        await _sending.WaitAsync(ct);
        try
        {
            await _socket.SendAsync(data, ct);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            throw new IOException("the telnet connection ended", e);
        }
        finally
        {
            _sending.Release();
        }
    }

    public ValueTask CloseStdinAsync(CancellationToken ct)
    {
        Shutdown(SocketShutdown.Send);
        return ValueTask.CompletedTask;
    }

    private void Shutdown(SocketShutdown how)
    {
        try
        {
            _socket.Shutdown(how);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            throw new IOException("the telnet connection ended", e);
        }
    }

    /// <summary>Sent when the server agreed to NAWS (a server that did not gets nothing: it would not understand).</summary>
    public async ValueTask ResizeAsync(TerminalSize size, CancellationToken ct)
    {
        if (!size.IsValid)
        {
            return;
        }
        bool naws;
        lock (_weDo)
        {
            _size = size;
            naws = _weDo.Contains(OptNaws);
        }
        if (naws)
        {
            await SendAsync([.. WindowSize(size)], ct);
        }
    }

    public ValueTask SignalAsync(string signal, CancellationToken ct) =>
        ExecSignals.SendAsTerminalAsync(signal, keys => WriteAsync(keys, ct), () => Shutdown(SocketShutdown.Both));

    /// <summary>A telnet connection has no exit status: its end is 0.</summary>
    public Task<long> ExitCodeAsync(CancellationToken ct) => Task.FromResult(0L);

    public ValueTask DisposeAsync()
    {
        // The semaphore is not disposed: a writer may still be waiting on it, and it holds no wait handle.
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
