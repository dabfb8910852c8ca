using System.Net.WebSockets;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Status;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Hosting;

namespace Ltb.Server.Api;

/// <summary>
/// A VM node's graphical display: the raw RFB (VNC) stream of QEMU's VNC server in binary WebSocket messages (noVNC's
/// convention), relayed by <see cref="DisplaySocket"/>. QEMU's server listens only on a unix socket of the node on its
/// host; this WebSocket, through the node's agent, is the only way to it (docs/security.md, "Consoles").
/// </summary>
public static partial class LabsEndpoints
{
    /// <summary>The WebSocket subprotocol noVNC offers for raw RFB in binary messages; accepted when offered.</summary>
    public const string BinarySubprotocol = "binary";

    private static void MapDisplayEndpoints(RouteGroupBuilder labs) =>
        labs.MapGet("/{lab}/nodes/{node}/vnc/ws", DisplaySocketAsync).WithName("OpenDisplaySocket").Produces(StatusCodes.Status101SwitchingProtocols)
            .WithSummary("A VM node's graphical display over a WebSocket: the raw RFB (VNC) stream in binary messages, subprotocol `binary` accepted (noVNC); the node needs a display (node type `display: vnc` or label `ltb.display: vnc`); docs/api.md, \"VNC display\"");

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult>> DisplaySocketAsync(string lab, string node, HttpContext http, Caller caller,
        LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents, AuditLog audit, CancellationToken ct)
    {
        // The rights of an interactive console: the screen takes keyboard and mouse, it operates the node.
        var (l, agent, problem) = await NodeAccessAsync(lab, node, Operation.Update, caller, db, authz, agents, ct);
        if (problem is not null)
        {
            return problem;
        }
        if (OpenSessions.AddOrUpdate(caller.UserId, 1, (_, n) => n + 1) > MaxSessionsPerUser)
        {
            Release(caller.UserId);
            return Problems.Conflict($"you have {MaxSessionsPerUser} interactive sessions open, the most at once; close one first");
        }
        try
        {
            IExecSession display;
            try
            {
                display = await agent!.OpenExecSessionAsync(new ExecSessionRequest(l!.RuntimeName, node, [], false, null) { NodeDisplay = true }, ct);
            }
            catch (LabRuntimeException e)
            {
                return Problems.Conflict(UserMessage(e, l!));
            }
            if (!http.WebSockets.IsWebSocketRequest)
            {
                // After the display was opened: a client that reads a refused WebSocket's reason with a plain GET (the CLI)
                // learns that the node has no display, not only that this is a WebSocket's address.
                await display.DisposeAsync();
                return Problems.BadRequest("this address takes a WebSocket (GET with Upgrade: websocket) carrying the RFB stream; `ltb vnc LAB NODE` offers it to any VNC viewer");
            }
            audit.Record("lab.display", What, l.Id, $"{l.Name}/{node}: VNC display");
            await db.SaveChangesAsync(ct);
            await using (display)
            {
                var offered = http.WebSockets.WebSocketRequestedProtocols.Contains(BinarySubprotocol, StringComparer.OrdinalIgnoreCase);
                using var socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
                {
                    SubProtocol = offered ? BinarySubprotocol : null,
                    KeepAliveInterval = TimeSpan.FromSeconds(20),
                    KeepAliveTimeout = TimeSpan.FromSeconds(20),
                });
                await DisplaySocket.BridgeAsync(socket, display, ct);
            }
            return TypedResults.Empty;
        }
        finally
        {
            Release(caller.UserId);
        }
    }
}
