using System.Net.Sockets;
using Ltb.Runtime.Nodes;
using Ltb.Topology.Catalog;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace Ltb.Server.Consoles.Targets;

/// <summary>
/// The node's own SSH server (port 22 of its management address, or the node type's console-port), logged in with the node type's credentials (or the
/// user's own, given with the ticket), an interactive shell with a PTY (SSH.NET). The server connects from its own
/// network namespace: the management network must be reachable from the LTB server (docs/security.md, "Consoles").
/// </summary>
public sealed class SshConsoleTarget : IConsoleTarget
{
    public const int Port = 22;
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    public ConsoleType Type => ConsoleType.Ssh;

    public async Task<IExecSession> OpenAsync(ConsoleTargetRequest request, CancellationToken ct)
    {
        var address = request.RequireAddress(Type);
        var port = request.Port ?? Port;
        var login = request.Login ?? throw new ConsoleTargetException(
            $"node '{request.Node}': its node type has no credentials for SSH; give username and password with the console ticket, " +
            "or use target=shell");
        var where = $"SSH to node '{request.Node}' ({address}:{port}) as '{login.Username}'";
        var client = new SshClient(Connection(address, port, login));
        try
        {
            // A lab's nodes get new host keys at every deployment and their addresses are reused by other labs: no key
            // is pinned (the same choice as the access information's ssh config, docs/security.md).
            client.HostKeyReceived += (_, e) => e.CanTrust = true;
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(ConnectTimeout);
            await client.ConnectAsync(limit.Token);
            var size = request.InitialSize;
            var shell = client.CreateShellStream("xterm-256color", (uint)size.Columns, (uint)size.Rows, 0, 0, SshConsoleStream.ChunkBytes);
            return new SshConsoleStream(client, shell);
        }
        catch (Exception e) when (Explain(e, where, ct) is { } message)
        {
            client.Dispose();
            throw new ConsoleTargetException(message, e);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Password, and keyboard-interactive answered with the same password (some network OSes offer only that).</summary>
    private static Renci.SshNet.ConnectionInfo Connection(string address, int port, Credentials login)
    {
        var interactive = new KeyboardInteractiveAuthenticationMethod(login.Username);
        interactive.AuthenticationPrompt += (_, e) =>
        {
            foreach (var prompt in e.Prompts)
            {
                prompt.Response = login.Password;
            }
        };
        return new Renci.SshNet.ConnectionInfo(address, port, login.Username, new PasswordAuthenticationMethod(login.Username, login.Password), interactive)
        {
            Timeout = ConnectTimeout,
        };
    }

    /// <summary>A message for the user (what failed and what to do), or null for an exception that is not about the node.</summary>
    private static string? Explain(Exception e, string where, CancellationToken ct) => e switch
    {
        SshAuthenticationException => $"{where}: authentication failed; the node type's credentials do not match the node's " +
            "(give username and password with the console ticket), or the node does not accept password logins",
        SocketException { SocketErrorCode: SocketError.ConnectionRefused } => $"{where}: connection refused; the node's SSH server " +
            "is not running (still booting?) or the node type's console is not ssh (try target=shell)",
        SocketException s => $"{where}: {s.Message}; the node's management network must be reachable from the LTB server",
        OperationCanceledException or SshOperationTimeoutException when !ct.IsCancellationRequested =>
            $"{where}: no answer within {ConnectTimeout.TotalSeconds:0} s; the node's management network must be reachable from the LTB server",
        SshConnectionException or SshException => $"{where}: {e.Message}",
        _ => null,
    };
}
