using System.Net.WebSockets;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Status;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Consoles;
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

    private static void MapDisplayEndpoints(RouteGroupBuilder labs)
    {
        labs.MapPost("/{lab}/nodes/{node}/vnc/tickets", DisplayTicketAsync).WithName("CreateDisplayTicket")
            .WithSummary("A single-use ticket (valid 30 s) for the node's display WebSocket (the browser's way: it cannot send a bearer header); the rights and the display are checked here, so a refusal is readable");
        labs.MapGet("/{lab}/nodes/{node}/vnc/ws", DisplaySocketAsync).WithName("OpenDisplaySocket").AllowAnonymous()
            .Produces(StatusCodes.Status101SwitchingProtocols)
            .WithSummary("A VM node's graphical display over a WebSocket: ?ticket= (POST .../vnc/tickets) or a bearer header; the raw RFB (VNC) stream in binary messages, subprotocol `binary` accepted (noVNC); the node needs a display (node type `display: vnc` or label `ltb.display: vnc`); docs/api.md, \"VNC display\"");
    }

    private static async Task<Results<Ok<ConsoleTicketResponse>, ProblemHttpResult>> DisplayTicketAsync(string lab, string node, Caller caller,
        LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents, ConsoleTickets tickets, CancellationToken ct)
    {
        var (l, agent, problem) = await NodeAccessAsync(lab, node, Operation.Update, caller, db, authz, agents, ct);
        if (problem is not null)
        {
            return problem;
        }
        // Opened once and closed: a node without a display is refused here, in words the browser can read (it cannot
        // read a refused WebSocket handshake).
        try
        {
            await (await agent!.OpenExecSessionAsync(new ExecSessionRequest(l!.RuntimeName, node, [], false, null) { NodeDisplay = true }, ct))
                .DisposeAsync();
        }
        catch (LabRuntimeException e)
        {
            return Problems.Conflict(UserMessage(e, l!));
        }
        if (tickets.Issue(caller.UserId, caller.UserName, l.Id, node, ConsoleMode.Interactive, null, display: true) is not { } issued)
        {
            return Problems.Conflict($"you hold {ConsoleTickets.MaxPerUser} unused console tickets; use them or wait 30 seconds");
        }
        return TypedResults.Ok(new ConsoleTicketResponse(issued.Ticket, issued.ExpiresAt,
            $"{ApiConventions.DisplaySocketPath(l.Id, node)}?ticket={issued.Ticket}"));
    }

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult>> DisplaySocketAsync(string lab, string node, string? ticket,
        HttpContext http, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents, ConsoleTickets tickets, AuditLog audit,
        CancellationToken ct)
    {
        var (user, l, agent, problem) = await DisplayGrantAsync(lab, node, ticket, http, db, authz, agents, tickets, ct);
        if (problem is not null)
        {
            return problem;
        }
        if (OpenSessions.AddOrUpdate(user.Id, 1, (_, n) => n + 1) > MaxSessionsPerUser)
        {
            Release(user.Id);
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
            audit.RecordAs(user.Id, user.Name, "lab.display", What, l.Id, $"{l.Name}/{node}: VNC display");
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
            Release(user.Id);
        }
    }

    /// <summary>Whose display this is: a ticket's user (the browser), or the bearer's, checked as for an interactive console.</summary>
    private static async Task<((Guid Id, string Name) User, Lab? Lab, ILabHostAgent? Agent, ProblemHttpResult? Problem)> DisplayGrantAsync(string lab,
        string node, string? ticket, HttpContext http, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents,
        ConsoleTickets tickets, CancellationToken ct)
    {
        if (ticket is not null)
        {
            var (grant, l, agent, refused) = await RedeemAsync(ticket, lab, node, db, agents, tickets, ct, display: true);
            return grant is null ? (default, null, null, refused) : ((grant.UserId, grant.UserName), l, agent, null);
        }
        if (http.Features.Get<Caller>() is not { } caller)
        {
            return (default, null, null, Problems.Unauthorized("give ?ticket= (POST .../vnc/tickets) or 'Authorization: Bearer TOKEN'"));
        }
        // The rights of an interactive console: the screen takes keyboard and mouse, it operates the node.
        var (found, owner, problem) = await NodeAccessAsync(lab, node, Operation.Update, caller, db, authz, agents, ct);
        return ((caller.UserId, caller.UserName), found, owner, problem);
    }
}
