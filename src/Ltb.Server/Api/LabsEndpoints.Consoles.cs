using Ltb.Runtime.Nodes;
using Ltb.Runtime.Status;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Consoles;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>
/// Node consoles: a ticket (the rights are checked here), then the WebSocket that redeems it (a browser cannot send a
/// bearer header; the CLI may). Sessions, replay, watchers and bounds: <see cref="ConsoleSessions"/> and
/// <see cref="ConsoleSession"/>; the protocol: docs/api.md, "Consoles".
/// </summary>
public static partial class LabsEndpoints
{
    private static void MapConsoleEndpoints(RouteGroupBuilder labs)
    {
        labs.MapPost("/{lab}/nodes/{node}/console/tickets", ConsoleTicketAsync).WithName("CreateConsoleTicket")
            .WithSummary("A single-use ticket (valid 30 s) for the node's console WebSocket: mode interactive (the lab's owner) or watch (read-only: the owner, an instructor of the lab's group, an admin); session to reattach or watch");
        labs.MapGet("/{lab}/nodes/{node}/console/ws", ConsoleSocketAsync).WithName("OpenConsoleSocket").AllowAnonymous()
            .Produces(StatusCodes.Status101SwitchingProtocols)
            .WithSummary("The node's console over a WebSocket: ?ticket= (or a bearer header with mode and session), rows, cols; the framing of interactive exec (docs/api.md, \"Consoles\")");
        labs.MapGet("/{lab}/nodes/{node}/console/sessions", ConsoleSessionsAsync).WithName("ListConsoleSessions")
            .WithSummary("The node's console sessions: whose, whether connected, who watches them");
    }

    private static async Task<Results<Ok<ConsoleTicketResponse>, ProblemHttpResult, ValidationProblem>> ConsoleTicketAsync(string lab,
        string node, ConsoleTicketRequest? request, Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents,
        ConsoleSessions sessions, ConsoleTickets tickets, CancellationToken ct)
    {
        if (ParseMode(request?.Mode) is not { } mode)
        {
            return Problems.Invalid("mode", "is interactive or watch");
        }
        var (l, _, problem) = await ConsoleAccessAsync(lab, node, mode, request?.Session, caller, db, authz, agents, sessions, ct);
        if (problem is not null)
        {
            return problem;
        }
        if (tickets.Issue(caller.UserId, caller.UserName, l!.Id, node, mode, request?.Session) is not { } issued)
        {
            return Problems.Conflict($"you hold {ConsoleTickets.MaxPerUser} unused console tickets; use them or wait 30 seconds");
        }
        return TypedResults.Ok(new ConsoleTicketResponse(issued.Ticket, issued.ExpiresAt,
            $"{ApiConventions.ConsoleSocketPath(l.Id, node)}?ticket={issued.Ticket}"));
    }

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult, ValidationProblem>> ConsoleSocketAsync(string lab, string node,
        string? ticket, string? mode, Guid? session, int? rows, int? cols, HttpContext http, LtbDbContext db, IResourceAuthorizer<Lab> authz,
        IAgentDirectory agents, ConsoleSessions sessions, ConsoleTickets tickets, AuditLog audit, CancellationToken ct)
    {
        TerminalSize? size = rows is null && cols is null ? null : new TerminalSize(rows ?? 0, cols ?? 0);
        if (size is { IsValid: false })
        {
            return Problems.Invalid("rows", $"rows and cols are both between 1 and {TerminalSize.Max}");
        }
        var (grant, l, agent, problem) = ticket is not null
            ? await RedeemAsync(ticket, lab, node, db, agents, tickets, ct)
            : await BearerGrantAsync(lab, node, mode, session, http, db, authz, agents, sessions, ct);
        if (problem is not null)
        {
            return problem;
        }
        if (!http.WebSockets.IsWebSocketRequest)
        {
            return Problems.BadRequest("this address takes a WebSocket (GET with Upgrade: websocket)");
        }
        var target = grant!.Session is { } id ? sessions.Find(id)
            : grant.Mode == ConsoleMode.Watch && sessions.OfNode(l!.Id, node) is [var newest, ..] ? newest : null;
        if (target is null && (grant.Session is not null || grant.Mode == ConsoleMode.Watch))
        {
            return Problems.NotFound($"console session on node '{node}' (it ended, or none is open)");
        }
        if (target is null)
        {
            try
            {
                target = await sessions.OpenAsync(grant.UserId, grant.UserName, l!.Id, node, () =>
                    agent!.OpenExecSessionAsync(new ExecSessionRequest(l.RuntimeName, node, ConsoleSessions.LoginShell, true, size), ct));
            }
            catch (LabRuntimeException e)
            {
                return Problems.Conflict(UserMessage(e, l!));
            }
            if (target is null)
            {
                return Problems.Conflict($"you have {ConsoleSessions.MaxPerUser} consoles open, the most at once; close one first");
            }
        }
        audit.RecordAs(grant.UserId, grant.UserName, grant.Mode == ConsoleMode.Watch ? "lab.console-watch" : "lab.console", What, l!.Id,
            $"{l.Name}/{node}: session {target.Id}");
        await db.SaveChangesAsync(ct);
        using var socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = TimeSpan.FromSeconds(20),
            KeepAliveTimeout = TimeSpan.FromSeconds(20),
        });
        using var client = new ConsoleClient(socket, grant.UserId, grant.UserName, grant.Mode == ConsoleMode.Watch);
        await target.AttachAsync(client, size, ct);
        return TypedResults.Empty;
    }

    private static async Task<Results<Ok<IReadOnlyList<ConsoleSessionDto>>, ProblemHttpResult>> ConsoleSessionsAsync(string lab,
        string node, Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, ConsoleSessions sessions, CancellationToken ct)
    {
        var access = await authz.FindAsync(db, caller, lab, Operation.WatchConsole, ct);
        if (access.Denied is { } denied)
        {
            return denied;
        }
        return TypedResults.Ok<IReadOnlyList<ConsoleSessionDto>>([.. sessions.OfNode(access.Resource!.Id, node).Select(s => s.ToDto())]);
    }

    private static ConsoleMode? ParseMode(string? mode) => mode?.ToLowerInvariant() switch
    {
        null or "interactive" => ConsoleMode.Interactive,
        "watch" => ConsoleMode.Watch,
        _ => null,
    };

    /// <summary>
    /// The caller's right to the node's console in <paramref name="mode"/>: interactive is operating the lab, watch is
    /// <see cref="Operation.WatchConsole"/>; a named session must be on this node, and, to reattach, the caller's own.
    /// </summary>
    private static async Task<(Lab? Lab, ILabHostAgent? Agent, ProblemHttpResult? Problem)> ConsoleAccessAsync(string lab, string node,
        ConsoleMode mode, Guid? session, Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents,
        ConsoleSessions sessions, CancellationToken ct)
    {
        var access = await NodeAccessAsync(lab, node, mode == ConsoleMode.Watch ? Operation.WatchConsole : Operation.Update, caller, db,
            authz, agents, ct);
        if (access.Problem is null && session is { } id)
        {
            var found = sessions.Find(id);
            if (found is null || found.LabId != access.Lab!.Id || found.Node != node
                || (mode == ConsoleMode.Interactive && found.UserId != caller.UserId))
            {
                return (null, null, Problems.NotFound($"console session {id} on node '{node}'"));
            }
        }
        return access;
    }

    private static async Task<(ConsoleTicket? Grant, Lab? Lab, ILabHostAgent? Agent, ProblemHttpResult? Problem)> RedeemAsync(string ticket,
        string lab, string node, LtbDbContext db, IAgentDirectory agents, ConsoleTickets tickets, CancellationToken ct)
    {
        var refused = Problems.Unauthorized("the console ticket is unknown, used or expired: ask for a new one (POST .../console/tickets)");
        if (tickets.Redeem(ticket) is not { } grant || grant.Node != node)
        {
            return (null, null, null, refused);
        }
        var l = await db.Labs.AsNoTracking().FirstOrDefaultAsync(x => x.Id == grant.LabId, ct);
        if (l is null || !((Guid.TryParse(lab, out var id) && id == l.Id) || lab == l.Name))
        {
            return (null, null, null, refused);
        }
        if (l.State != LabLifecycle.Running)
        {
            return (null, null, null, Problems.Conflict($"lab '{l.Name}' is {LabViews.State(l.State)}, not running"));
        }
        return await AgentOfAsync(db, agents, l, ct) is { } agent
            ? (grant, l, agent, null)
            : (null, null, null, Problems.Conflict($"lab '{l.Name}': its host has no connected agent"));
    }

    /// <summary>The CLI's way: a bearer header instead of a ticket, checked as the ticket endpoint checks.</summary>
    private static async Task<(ConsoleTicket? Grant, Lab? Lab, ILabHostAgent? Agent, ProblemHttpResult? Problem)> BearerGrantAsync(string lab,
        string node, string? mode, Guid? session, HttpContext http, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents,
        ConsoleSessions sessions, CancellationToken ct)
    {
        if (http.Features.Get<Caller>() is not { } caller)
        {
            return (null, null, null, Problems.Unauthorized("give ?ticket= (POST .../console/tickets) or 'Authorization: Bearer TOKEN'"));
        }
        if (ParseMode(mode) is not { } m)
        {
            return (null, null, null, Problems.BadRequest("mode is interactive or watch"));
        }
        var (l, agent, problem) = await ConsoleAccessAsync(lab, node, m, session, caller, db, authz, agents, sessions, ct);
        return problem is not null ? (null, null, null, problem)
            : (new ConsoleTicket(caller.UserId, caller.UserName, l!.Id, node, m, session, DateTimeOffset.MaxValue), l, agent, null);
    }
}
