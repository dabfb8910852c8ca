using System.Collections.Concurrent;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Status;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Hosting;

namespace Ltb.Server.Api;

/// <summary>Interactive streams of a node: exec with stdin and a TTY over a WebSocket (framing: <see cref="ExecSocket"/>).</summary>
public static partial class LabsEndpoints
{
    /// <summary>The most interactive sessions one user holds open at once on this server process.</summary>
    public const int MaxSessionsPerUser = 16;

    private static readonly ConcurrentDictionary<Guid, int> OpenSessions = new();

    private static void MapSessionEndpoints(RouteGroupBuilder labs) =>
        labs.MapGet("/{lab}/nodes/{node}/exec/ws", ExecSocketAsync).WithName("OpenExecSocket").Produces(StatusCodes.Status101SwitchingProtocols)
            .WithSummary("Run a command in a node interactively over a WebSocket: stdin, a TTY (tty=true, rows, cols), resize, signals, the exit code (docs/api.md, \"Interactive exec\")");

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult, ValidationProblem>> ExecSocketAsync(string lab, string node,
        string[]? command, bool? tty, int? rows, int? cols, HttpContext http, Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz,
        IAgentDirectory agents, AuditLog audit, CancellationToken ct)
    {
        if (command is not { Length: > 0 } || command.Any(string.IsNullOrEmpty))
        {
            return Problems.Invalid("command", "give the command as one or more non-empty `command` parameters (an argument vector)");
        }
        TerminalSize? size = rows is null && cols is null ? null : new TerminalSize(rows ?? 0, cols ?? 0);
        if (size is { IsValid: false })
        {
            return Problems.Invalid("rows", $"rows and cols are both between 1 and {TerminalSize.Max}");
        }
        // Authorized exactly like POST /labs/{lab}/exec: operating a node of a running lab the caller may change.
        var (l, agent, problem) = await OperableAsync(lab, node, caller, db, authz, agents, ct);
        if (problem is not null)
        {
            return problem;
        }
        if (!http.WebSockets.IsWebSocketRequest)
        {
            return Problems.BadRequest("this address takes a WebSocket (GET with Upgrade: websocket); POST /labs/{lab}/exec runs a command without one");
        }
        if (OpenSessions.AddOrUpdate(caller.UserId, 1, (_, n) => n + 1) > MaxSessionsPerUser)
        {
            Release(caller.UserId);
            return Problems.Conflict($"you have {MaxSessionsPerUser} interactive sessions open, the most at once; close one first");
        }
        try
        {
            audit.Record("lab.exec", What, l!.Id, Truncate($"{l.Name}/{node}: {string.Join(' ', command)} (interactive{(tty == true ? ", tty" : "")})", 2000));
            await db.SaveChangesAsync(ct);
            IExecSession session;
            try
            {
                session = await agent!.OpenExecSessionAsync(new ExecSessionRequest(l.RuntimeName, node, command, tty == true, size), ct);
            }
            catch (LabRuntimeException e)
            {
                return Problems.Conflict(UserMessage(e, l));
            }
            await using (session)
            {
                using var socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
                {
                    KeepAliveInterval = TimeSpan.FromSeconds(20),
                    KeepAliveTimeout = TimeSpan.FromSeconds(20),
                });
                await ExecSocket.BridgeAsync(socket, session, ct);
            }
            return TypedResults.Empty;
        }
        finally
        {
            Release(caller.UserId);
        }
    }

    private static void Release(Guid user)
    {
        if (OpenSessions.AddOrUpdate(user, 0, (_, n) => n - 1) <= 0)
        {
            OpenSessions.TryRemove(new KeyValuePair<Guid, int>(user, 0));
        }
    }
}
