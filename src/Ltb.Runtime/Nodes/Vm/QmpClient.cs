using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>A QMP command failed (QEMU's error class and description), or the connection ended before its answer.</summary>
public sealed class QmpException(string message, string? errorClass = null) : Exception(message)
{
    /// <summary>QEMU's error class (e.g. <c>GenericError</c>, <c>CommandNotFound</c>); null when the connection failed.</summary>
    public string? ErrorClass { get; } = errorClass;
}

/// <summary>An asynchronous QMP event (e.g. <c>SHUTDOWN</c>, <c>POWERDOWN</c>, <c>STOP</c>) with its data.</summary>
public sealed record QmpEvent(string Name, JsonObject? Data, DateTimeOffset At);

/// <summary>
/// A small client of the QEMU Machine Protocol (JSON lines over a socket; there is no .NET QMP library): reads the
/// greeting, negotiates capabilities, sends commands with ids and matches the answers by id, and queues the events
/// it reads in between. Bounded: a line longer than <see cref="MaxLineBytes"/> ends the connection, at most
/// <see cref="MaxQueuedEvents"/> events wait (older ones are dropped). One reader loop; commands may be sent from
/// several threads.
/// </summary>
public sealed class QmpClient : IAsyncDisposable
{
    public const int MaxLineBytes = 1 << 20;
    public const int MaxQueuedEvents = 256;

    private readonly Stream _stream;
    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonNode?>> _pending = new();
    private readonly Channel<QmpEvent> _events =
        Channel.CreateBounded<QmpEvent>(new BoundedChannelOptions(MaxQueuedEvents) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly CancellationTokenSource _closed = new();
    private readonly byte[] _buffer = new byte[8192];
    private int _bufferStart;
    private int _bufferEnd;
    private long _nextId;
    private Task? _reader;

    private QmpClient(Stream stream) => _stream = stream;

    /// <summary>QEMU's version as the greeting gave it (e.g. "7.2.22").</summary>
    public string Version { get; private set; } = "";

    /// <summary>The events read so far, in order (a reader that falls behind loses the oldest).</summary>
    public ChannelReader<QmpEvent> Events => _events.Reader;

    /// <summary>Connects to QEMU's QMP unix socket and negotiates (greeting, <c>qmp_capabilities</c>).</summary>
    public static async Task<QmpClient> ConnectAsync(string socketPath, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return await OpenAsync(new NetworkStream(socket, ownsSocket: true), ct);
    }

    /// <summary>Negotiates over an open stream (QEMU's socket, or a test's): reads the greeting, then enters command mode.</summary>
    public static async Task<QmpClient> OpenAsync(Stream stream, CancellationToken ct)
    {
        var client = new QmpClient(stream);
        try
        {
            var greeting = await client.ReadMessageAsync(ct) ?? throw new QmpException("QEMU closed the QMP connection before its greeting");
            if (greeting["QMP"] is not JsonObject qmp)
            {
                throw new QmpException($"not a QMP greeting: {Shorten(greeting.ToJsonString())}");
            }
            var v = qmp["version"]?["qemu"];
            client.Version = v is null ? "" : $"{v["major"]}.{v["minor"]}.{v["micro"]}";
            client._reader = Task.Run(client.ReadLoopAsync, CancellationToken.None);
            await client.ExecuteAsync("qmp_capabilities", null, ct);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a command and returns its <c>return</c> value; QEMU's error becomes a <see cref="QmpException"/>.</summary>
    public async Task<JsonNode?> ExecuteAsync(string command, JsonObject? arguments, CancellationToken ct)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonNode?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        try
        {
            var message = new JsonObject { ["execute"] = command, ["id"] = id };
            if (arguments is not null)
            {
                message["arguments"] = arguments;
            }
            var bytes = Encoding.UTF8.GetBytes(message.ToJsonString() + "\n");
            await _write.WaitAsync(ct);
            try
            {
                await _stream.WriteAsync(bytes, ct);
                await _stream.FlushAsync(ct);
            }
            finally
            {
                _write.Release();
            }
            if (_closed.IsCancellationRequested)
            {
                answer.TrySetException(new QmpException($"QEMU closed the QMP connection before answering {command}"));
            }
            return await answer.Task.WaitAsync(ct);
        }
        catch (IOException e)
        {
            throw new QmpException($"QEMU closed the QMP connection before answering {command} ({e.Message})");
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Waits for the next event named <paramref name="name"/>, skipping others.</summary>
    public async Task<QmpEvent> WaitForEventAsync(string name, CancellationToken ct)
    {
        await foreach (var e in _events.Reader.ReadAllAsync(ct))
        {
            if (e.Name == name)
            {
                return e;
            }
        }
        throw new QmpException($"QEMU closed the QMP connection before the {name} event");
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await ReadMessageAsync(_closed.Token) is { } message)
            {
                Dispatch(message);
            }
        }
        catch (Exception e) when (e is IOException or QmpException or JsonException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection ended (QEMU quit, or it sent something that is not QMP): every waiter learns it below.
        }
        finally
        {
            _closed.Cancel();
            _events.Writer.TryComplete();
            foreach (var (_, waiter) in _pending)
            {
                waiter.TrySetException(new QmpException("QEMU closed the QMP connection"));
            }
        }
    }

    private void Dispatch(JsonObject message)
    {
        if (message["event"]?.GetValue<string>() is { } name)
        {
            var ts = message["timestamp"];
            var at = ts is null ? DateTimeOffset.UtcNow
                : DateTimeOffset.FromUnixTimeSeconds(ts["seconds"]?.GetValue<long>() ?? 0).AddTicks((ts["microseconds"]?.GetValue<long>() ?? 0) * 10);
            _events.Writer.TryWrite(new QmpEvent(name, message["data"] as JsonObject, at));
            return;
        }
        if (message["id"] is not JsonValue idValue || !idValue.TryGetValue<long>(out var id) || !_pending.TryGetValue(id, out var waiter))
        {
            return; // an answer nobody waits for (its caller gave up)
        }
        if (message["error"] is JsonObject error)
        {
            waiter.TrySetException(new QmpException(error["desc"]?.GetValue<string>() ?? "QEMU refused the command",
                error["class"]?.GetValue<string>()));
        }
        else
        {
            waiter.TrySetResult(message["return"]?.DeepClone());
        }
    }

    /// <summary>One JSON object per line (QEMU ends them with CRLF); null at the end of the stream.</summary>
    private async Task<JsonObject?> ReadMessageAsync(CancellationToken ct)
    {
        using var line = new MemoryStream();
        while (true)
        {
            if (_bufferStart == _bufferEnd)
            {
                _bufferStart = 0;
                _bufferEnd = await _stream.ReadAsync(_buffer, ct);
                if (_bufferEnd == 0)
                {
                    return null;
                }
            }
            var chunk = _buffer.AsSpan(_bufferStart, _bufferEnd - _bufferStart);
            var newline = chunk.IndexOf((byte)'\n');
            var take = newline < 0 ? chunk.Length : newline;
            if (line.Length + take > MaxLineBytes)
            {
                throw new QmpException($"QEMU sent a QMP message longer than {MaxLineBytes} bytes");
            }
            line.Write(chunk[..take]);
            _bufferStart += newline < 0 ? take : take + 1;
            if (newline < 0)
            {
                continue;
            }
            var text = line.GetBuffer().AsSpan(0, (int)line.Length).Trim("\r "u8);
            if (text.Length > 0)
            {
                return JsonNode.Parse(text) as JsonObject ?? throw new QmpException("QEMU sent a QMP message that is not an object");
            }
            line.SetLength(0);
        }
    }

    private static string Shorten(string s) => s.Length <= 200 ? s : s[..200] + "...";

    public async ValueTask DisposeAsync()
    {
        await _closed.CancelAsync();
        await _stream.DisposeAsync();
        if (_reader is not null)
        {
            await _reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        _closed.Dispose();
        _write.Dispose();
    }
}
