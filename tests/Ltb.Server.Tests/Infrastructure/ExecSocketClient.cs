using System.Net.WebSockets;
using System.Text;

namespace Ltb.Server.Tests.Infrastructure;

/// <summary>
/// A client of the exec and console WebSockets (one framing: ExecSocketFrames): collects the output, a console's
/// session id, error frames and the exit code in the background.
/// </summary>
internal sealed class ExecSocketClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly StringBuilder _output = new();
    private readonly List<string> _errors = [];
    private readonly TaskCompletionSource<Guid> _session = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task<int> _exit;

    private ExecSocketClient(ClientWebSocket socket)
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

    /// <summary>Interactive exec of <paramref name="command"/> on a node, with a bearer token (<paramref name="extra"/>: more query).</summary>
    public static Task<ExecSocketClient> OpenExecAsync(string url, string token, string lab, string node, string[] command, string extra)
    {
        var query = string.Join('&', command.Select(c => "command=" + Uri.EscapeDataString(c))) + extra;
        return ConnectAsync(new Uri($"{WebSocketUrl(url)}/api/v1/labs/{lab}/nodes/{node}/exec/ws?{query}"), token);
    }

    /// <summary>
    /// A console: connects to <paramref name="url"/> (a ticket's URL), or with <paramref name="bearer"/> and no ticket to
    /// the ticket-less address given in <paramref name="extra"/>.
    /// </summary>
    public static Task<ExecSocketClient> OpenConsoleAsync(Uri server, string? url, string extra, string? bearer = null) =>
        ConnectAsync(new Uri(new Uri(WebSocketUrl(server.ToString())), (url ?? extra) + (url is null ? "" : extra)), bearer);

    private static string WebSocketUrl(string http) => http.Replace("http://", "ws://", StringComparison.Ordinal);

    private static async Task<ExecSocketClient> ConnectAsync(Uri address, string? bearer)
    {
        var socket = new ClientWebSocket();
        if (bearer is not null)
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + bearer);
        }
        try
        {
            await socket.ConnectAsync(address, TestContext.Current.CancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new ExecSocketClient(socket);
    }

    /// <summary>The error frames so far (a console that could not connect sends one, then closes).</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_output)
            {
                return [.. _errors];
            }
        }
    }

    /// <summary>The server closed the connection (or it failed).</summary>
    public bool Ended => _exit.IsCompleted;

    public Task<Guid> SessionAsync() => _session.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

    public Task TypeAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(ReadOnlyMemory<byte> data) =>
        await _socket.SendAsync(data, WebSocketMessageType.Binary, true, TestContext.Current.CancellationToken);

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

    /// <summary>The exit code of the command (a console's shell); a session that ended otherwise fails with its errors and output.</summary>
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
