using System.Net.WebSockets;
using System.Text;

namespace Ltb.Server.Tests.Labs;

/// <summary>A client of a node's console WebSocket: collects the output, the session id, errors and the exit code in the background.</summary>
internal sealed class ConsoleSocket : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly StringBuilder _output = new();
    private readonly List<string> _errors = [];
    private readonly TaskCompletionSource<Guid> _session = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task<int> _exit;

    private ConsoleSocket(ClientWebSocket socket)
    {
        _socket = socket;
        _exit = Task.Run(ReadAsync);
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Connects to <paramref name="url"/> (a ticket's URL), or with <paramref name="bearer"/> and no ticket to the
    /// console of node r1 at the ticket-less address given in <paramref name="extra"/>.
    /// </summary>
    public static async Task<ConsoleSocket> OpenAsync(Uri server, string? url, string extra, string? bearer = null)
    {
        var socket = new ClientWebSocket();
        if (bearer is not null)
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + bearer);
        }
        var address = new Uri(new Uri(server.ToString().Replace("http://", "ws://", StringComparison.Ordinal)), (url ?? extra) + (url is null ? "" : extra));
        try
        {
            await socket.ConnectAsync(address, TestContext.Current.CancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new ConsoleSocket(socket);
    }

    public Task<Guid> SessionAsync() => _session.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

    public async Task TypeAsync(string text) =>
        await _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Binary, true, TestContext.Current.CancellationToken);

    public async Task ControlAsync(ExecSocketControl control) =>
        await _socket.SendAsync(ExecSocketFrames.Encode(control), WebSocketMessageType.Text, true, TestContext.Current.CancellationToken);

    public Task WaitForAsync(string text) => WaitAsync(() => Output.Contains(text, StringComparison.Ordinal), $"'{text}' did not come");

    public Task WaitForErrorAsync(string text) => WaitAsync(() =>
    {
        lock (_output)
        {
            return _errors.Any(e => e.Contains(text, StringComparison.Ordinal));
        }
    }, $"no error frame with '{text}'");

    private async Task WaitAsync(Func<bool> done, string failure)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline && !_exit.IsCompleted, $"{failure}; the output:\n{Output}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>The exit code of the console's shell; a console that ended otherwise fails with its errors and output.</summary>
    public async Task<int> ExitCodeAsync()
    {
        var code = await _exit.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        lock (_output)
        {
            Assert.True(code >= 0, $"no exit code; errors: {string.Join("; ", _errors)}; the output:\n{_output}");
        }
        return code;
    }

    /// <summary>Drops the connection without a close handshake (a network failure, a closed laptop).</summary>
    public void Abort() => _socket.Abort();

    private async Task<int> ReadAsync()
    {
        var buffer = new byte[ExecSocketFrames.MaxMessageBytes];
        try
        {
            while (await ExecSocketFrames.ReceiveAsync(_socket, buffer, CancellationToken.None) is { } m)
            {
                if (m.Type == WebSocketMessageType.Binary)
                {
                    lock (_output)
                    {
                        _output.Append(Encoding.UTF8.GetString(buffer, 1, m.Count - 1));
                    }
                    continue;
                }
                switch (ExecSocketFrames.Decode(buffer.AsSpan(0, m.Count)))
                {
                    case { Type: "session", Session: { } id }:
                        _session.TrySetResult(id);
                        break;
                    case { Type: "exit", ExitCode: { } code }:
                        await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
                        return (int)code;
                    case { Type: "error", Message: { } message }:
                        lock (_output)
                        {
                            _errors.Add(message);
                        }
                        break;
                }
            }
        }
        catch (WebSocketException e)
        {
            // Aborted by the test (or failed: the exit code's assertion shows it).
            lock (_output)
            {
                _errors.Add(e.Message);
            }
        }
        return -1;
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
