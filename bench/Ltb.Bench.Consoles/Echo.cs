using System.Net.WebSockets;
using System.Threading.Channels;
using Ltb.Contracts;

/// <summary>What a terminal shows, as it arrives: waits for a key's echo, or for the output to go quiet.</summary>
internal abstract class Echo
{
    private readonly Channel<byte[]> _chunks = Channel.CreateUnbounded<byte[]>();

    protected void Arrived(ReadOnlySpan<byte> bytes) => _chunks.Writer.TryWrite(bytes.ToArray());

    protected void Ended() => _chunks.Writer.TryComplete();

    public async Task WaitForAsync(byte key, CancellationToken ct)
    {
        if (!await TryWaitForAsync(key, TimeSpan.FromSeconds(30), ct))
        {
            throw new TimeoutException($"no echo of '{(char)key}' within 30 s");
        }
    }

    public async Task<bool> TryWaitForAsync(byte key, TimeSpan timeout, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            while (true)
            {
                var chunk = await _chunks.Reader.ReadAsync(limit.Token);
                if (Array.IndexOf(chunk, key) >= 0)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Reads until nothing arrived for half a second (a prompt, an echoed command).</summary>
    public async Task WaitQuietAsync(CancellationToken ct)
    {
        while (true)
        {
            using var quiet = CancellationTokenSource.CreateLinkedTokenSource(ct);
            quiet.CancelAfter(TimeSpan.FromMilliseconds(500));
            try
            {
                await _chunks.Reader.ReadAsync(quiet.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return;
            }
        }
    }
}

/// <summary>A console WebSocket: output frames (a stream byte, then the data) in, keys out.</summary>
internal sealed class SocketEcho : Echo
{
    private readonly WebSocket _socket;

    public SocketEcho(WebSocket socket)
    {
        _socket = socket;
        _ = Task.Run(ReadAsync);
    }

    public Task SendAsync(byte[] keys, CancellationToken ct) =>
        _socket.SendAsync(keys.AsMemory(), WebSocketMessageType.Binary, true, ct).AsTask();

    private async Task ReadAsync()
    {
        var buffer = new byte[ExecSocketFrames.MaxMessageBytes];
        try
        {
            while (await ExecSocketFrames.ReceiveAsync(_socket, buffer, CancellationToken.None) is { } message)
            {
                if (message.Type == WebSocketMessageType.Binary && message.Count > 1)
                {
                    Arrived(buffer.AsSpan(1, message.Count - 1));
                }
            }
        }
        catch (WebSocketException)
        {
        }
        Ended();
    }
}

/// <summary>A process's standard output (the ssh client's).</summary>
internal sealed class StreamEcho : Echo
{
    public StreamEcho(Stream output) => _ = Task.Run(async () =>
    {
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await output.ReadAsync(buffer)) > 0)
        {
            Arrived(buffer.AsSpan(0, read));
        }
        Ended();
    });
}
