using System.Net.WebSockets;
using System.Runtime.InteropServices;
using Ltb.Cli.Api;
using Ltb.Client;
using Ltb.Contracts;
using Microsoft.Win32.SafeHandles;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb lab exec -i` (stdin piped to the command) and `-t` (a TTY that follows this terminal: raw mode, its size,
/// SIGWINCH -> resize, the terminal restored at the end), over the server's exec WebSocket (framing: <see cref="ExecSocket"/>).
/// The remote command's exit code becomes the CLI's. `ltb console` is the same over a node's console WebSocket.
/// </summary>
internal static class InteractiveExec
{
    public static async Task<int> RunAsync(LtbApiClient client, string lab, string node, IReadOnlyList<string> argv, bool tty, CancellationToken ct)
    {
        if (tty && !Terminal.IsTerminal)
        {
            throw new LtbApiException(0, "-t needs a terminal on standard input; use -i alone to pipe input to the command");
        }
        var query = string.Join('&', argv.Select(a => "command=" + Uri.EscapeDataString(a)));
        if (tty)
        {
            query += "&tty=true" + (Terminal.Size() is { } s ? $"&rows={s.Rows}&cols={s.Columns}" : "");
        }
        using var socket = await client.OpenExecSocketAsync(lab, node, query, ct);
        return await RunAsync(socket, tty, null, ct);
    }

    /// <summary>
    /// `ltb console LAB NODE`: the node's console in this terminal (raw mode, resize); Ctrl-] leaves it, and the session
    /// waits a minute on the server for `--session ID`.
    /// </summary>
    /// <param name="escape">Whether Ctrl-] leaves: not through the SSH gateway, whose users leave with ssh's own ~.</param>
    public static async Task<int> ConsoleAsync(LtbApiClient client, string lab, string node, Guid? session, CancellationToken ct,
        string? target = null, bool escape = true)
    {
        if (!Terminal.IsTerminal)
        {
            throw new LtbApiException(0, "a console needs a terminal on standard input; use `ltb lab exec` to pipe commands");
        }
        using var socket = await client.OpenConsoleSocketAsync(lab, node, session, Terminal.Size(), ct, target);
        if (!escape)
        {
            Console.Error.Write($"[console of {lab}/{node}]\r\n");
            return await RunAsync(socket, true, null, ct);
        }
        Console.Error.Write($"[console of {lab}/{node}; Ctrl-] leaves]\r\n");
        var opened = new Leaving();
        var code = await RunAsync(socket, true, opened, ct);
        if (opened.Left)
        {
            Console.Error.Write($"\r\n[left the console; it stays open a minute: ltb console {lab} {node} --session {opened.Session}]\r\n");
            return 0;
        }
        return code;
    }

    /// <summary>The console's escape: set when Ctrl-] was typed; the session id the server named.</summary>
    private sealed class Leaving
    {
        public const byte Escape = 0x1d;
        public readonly TaskCompletionSource Typed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Left => Typed.Task.IsCompleted;
        public Guid? Session { get; set; }
    }

    private static async Task<int> RunAsync(WebSocket socket, bool tty, Leaving? escape, CancellationToken ct)
    {
        using var sender = new Sender(socket);
        (int Code, string? Error) result;
        using (var raw = tty ? Terminal.Raw() : null)
        using (tty ? PosixSignalRegistration.Create(PosixSignal.SIGWINCH, signal => _ = sender.ResizeAsync()) : null)
        // Ctrl-C (without a TTY; with one it is a byte the remote terminal turns into SIGINT) interrupts the remote
        // command; the exit code it then returns is still read.
        using (ct.Register(() => _ = sender.ControlAsync(new ExecSocketControl("signal", Signal: "INT"))))
        {
            _ = Task.Run(() => PumpStdinAsync(sender, escape), CancellationToken.None);
            var reading = ReadOutputAsync(socket, escape);
            if (escape is not null && await Task.WhenAny(reading, escape.Typed.Task) != reading)
            {
                return 0;
            }
            result = await reading;
        }
        if (result.Error is { } error)
        {
            Console.Error.WriteLine($"error: {error}");
        }
        return result.Code;
    }

    /// <summary>Copies this process's stdin to the command until its end (then closes the command's stdin).</summary>
    private static async Task PumpStdinAsync(Sender sender, Leaving? escape)
    {
        // The file descriptor itself: Console's own stdin stream edits lines on a terminal, which raw mode must not.
        using var stdin = new FileStream(new SafeFileHandle(0, ownsHandle: false), FileAccess.Read, 1);
        var buffer = new byte[ExecSocketFrames.MaxMessageBytes];
        try
        {
            int read;
            while ((read = await stdin.ReadAsync(buffer)) > 0)
            {
                var at = escape is null ? -1 : buffer.AsSpan(0, read).IndexOf(Leaving.Escape);
                await sender.SendAsync(buffer.AsMemory(0, at < 0 ? read : at), WebSocketMessageType.Binary);
                if (at >= 0)
                {
                    // Leaving, not ending: the console's shell stays for a reattach.
                    escape!.Typed.TrySetResult();
                    return;
                }
            }
            await sender.ControlAsync(new ExecSocketControl("eof"));
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The session ended first.
        }
    }

    private static async Task<(int Code, string? Error)> ReadOutputAsync(WebSocket socket, Leaving? console)
    {
        using var stdout = Console.OpenStandardOutput();
        using var stderr = Console.OpenStandardError();
        var buffer = new byte[ExecSocketFrames.MaxMessageBytes];
        try
        {
            while (await ExecSocketFrames.ReceiveAsync(socket, buffer, CancellationToken.None) is { } message)
            {
                if (message.Type == WebSocketMessageType.Binary && message.Count > 0)
                {
                    var target = buffer[0] == ExecSocketFrames.Stderr ? stderr : stdout;
                    await target.WriteAsync(buffer.AsMemory(1, message.Count - 1));
                    await target.FlushAsync();
                    continue;
                }
                switch (ExecSocketFrames.Decode(buffer.AsSpan(0, message.Count)))
                {
                    case { Type: "session", Session: { } id } when console is not null:
                        console.Session = id;
                        break;
                    case { Type: "exit", ExitCode: { } code }:
                        await CloseAsync(socket);
                        return (code is >= 0 and <= 255 ? (int)code : 1, null);
                    case { Type: "error", Message: var m }:
                        await CloseAsync(socket);
                        return (1, m ?? "the session failed");
                }
            }
        }
        catch (WebSocketException e)
        {
            return (1, $"the connection to the server broke: {e.Message}");
        }
        return (1, "the session ended without the command's exit code");
    }

    private static async Task CloseAsync(WebSocket socket)
    {
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", limit.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
    }

    /// <summary>One message at a time on the socket (stdin, resize and signals come from different threads).</summary>
    private sealed class Sender(WebSocket socket) : IDisposable
    {
        private readonly SemaphoreSlim _turn = new(1, 1);

        public async Task SendAsync(ReadOnlyMemory<byte> data, WebSocketMessageType type)
        {
            await _turn.WaitAsync();
            try
            {
                await socket.SendAsync(data, type, true, CancellationToken.None);
            }
            finally
            {
                _turn.Release();
            }
        }

        public async Task ControlAsync(ExecSocketControl control)
        {
            try
            {
                await SendAsync(ExecSocketFrames.Encode(control), WebSocketMessageType.Text);
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException or InvalidOperationException)
            {
                // The session ended.
            }
        }

        public void Dispose() => _turn.Dispose();

        public Task ResizeAsync() => Terminal.Size() is { } s
            ? ControlAsync(new ExecSocketControl("resize", s.Rows, s.Columns))
            : Task.CompletedTask;
    }
}
