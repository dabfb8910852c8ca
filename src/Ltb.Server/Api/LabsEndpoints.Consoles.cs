using System.Net.WebSockets;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Status;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Catalog;
using Ltb.Server.Consoles;
using Ltb.Server.Consoles.Targets;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Ltb.Topology.Catalog;
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
            .WithSummary("A single-use ticket (valid 30 s) for the node's console WebSocket: mode interactive (the lab's owner) or watch (read-only: the owner, an instructor of the lab's group, an admin); session to reattach or watch; target shell, ssh or telnet (default: the node type's console); username and password for ssh instead of the node type's credentials");
        labs.MapGet("/{lab}/nodes/{node}/console/ws", ConsoleSocketAsync).WithName("OpenConsoleSocket").AllowAnonymous()
            .Produces(StatusCodes.Status101SwitchingProtocols)
            .WithSummary("The node's console over a WebSocket: ?ticket= (or a bearer header with mode, session and target), rows, cols; the framing of interactive exec (docs/api.md, \"Consoles\")");
        labs.MapGet("/{lab}/nodes/{node}/console/sessions", ConsoleSessionsAsync).WithName("ListConsoleSessions")
            .WithSummary("The node's console sessions: whose, whether connected, who watches them");
    }

    private static async Task<Results<Ok<ConsoleTicketResponse>, ProblemHttpResult, ValidationProblem>> ConsoleTicketAsync(string lab,
        string node, ConsoleTicketRequest? request, Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents,
        ConsoleSessions sessions, ConsoleTickets tickets, NodeTypeStore nodeTypes, LabStatusCache statuses, CancellationToken ct)
    {
        if (ParseMode(request?.Mode) is not { } mode)
        {
            return Problems.Invalid("mode", "is interactive or watch");
        }
        if (ParseTargetChoice(request, mode) is { } invalid)
        {
            return invalid;
        }
        var (l, _, problem) = await ConsoleAccessAsync(lab, node, mode, request?.Session, caller, db, authz, agents, sessions, ct);
        if (problem is not null)
        {
            return problem;
        }
        ConsoleType? target = null;
        var login = request is { Username: { } user, Password: { } password } ? new ConsoleLogin(user, password) : null;
        if (mode == ConsoleMode.Interactive && request?.Session is null)
        {
            var (chosen, refusal) = await TargetOfAsync(l!, node, request?.Target, login is not null, nodeTypes, ct);
            if (refusal is not null)
            {
                return refusal;
            }
            target = chosen!.Type;
            // Known now, so the browser reads it in this answer (it cannot read a refused WebSocket handshake).
            if (target != ConsoleType.Shell && await MgmtAddressAsync(l!, node, db, agents, statuses, ct) is null)
            {
                return Problems.Conflict(ConsoleTargetRequest.NoAddress(node, l!.Name, target.Value));
            }
        }
        if (tickets.Issue(caller.UserId, caller.UserName, l!.Id, node, mode, request?.Session, target, login) is not { } issued)
        {
            return Problems.Conflict($"you hold {ConsoleTickets.MaxPerUser} unused console tickets; use them or wait 30 seconds");
        }
        return TypedResults.Ok(new ConsoleTicketResponse(issued.Ticket, issued.ExpiresAt,
            $"{ApiConventions.ConsoleSocketPath(l.Id, node)}?ticket={issued.Ticket}"));
    }

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult, ValidationProblem>> ConsoleSocketAsync(string lab, string node,
        string? ticket, string? mode, Guid? session, string? target, int? rows, int? cols, HttpContext http, LtbDbContext db,
        IResourceAuthorizer<Lab> authz, IAgentDirectory agents, ConsoleSessions sessions, ConsoleTickets tickets, NodeTypeStore nodeTypes,
        LabStatusCache statuses, AuditLog audit, CancellationToken ct)
    {
        TerminalSize? size = rows is null && cols is null ? null : new TerminalSize(rows ?? 0, cols ?? 0);
        if (size is { IsValid: false })
        {
            return Problems.Invalid("rows", $"rows and cols are both between 1 and {TerminalSize.Max}");
        }
        if (ticket is not null && target is not null)
        {
            return Problems.BadRequest("with a ticket, the target is chosen when the ticket is asked for (POST .../console/tickets)");
        }
        var (grant, l, agent, problem) = ticket is not null
            ? await RedeemAsync(ticket, lab, node, db, agents, tickets, ct)
            : await BearerGrantAsync(lab, node, mode, session, target, http, db, authz, agents, sessions, nodeTypes, ct);
        if (problem is not null)
        {
            return problem;
        }
        if (!http.WebSockets.IsWebSocketRequest)
        {
            return Problems.BadRequest("this address takes a WebSocket (GET with Upgrade: websocket)");
        }
        var console = grant!.Session is { } id ? sessions.Find(id)
            : grant.Mode == ConsoleMode.Watch && sessions.OfNode(l!.Id, node) is [var newest, ..] ? newest : null;
        if (console is null && (grant.Session is not null || grant.Mode == ConsoleMode.Watch))
        {
            return Problems.NotFound($"console session on node '{node}' (it ended, or none is open)");
        }
        if (console is null)
        {
            var (opened, refused, unreachable) = await OpenConsoleAsync(grant, l!, node, agent!, size, db, agents, sessions, nodeTypes,
                statuses, ct);
            if (refused is not null)
            {
                return refused;
            }
            if (unreachable is not null)
            {
                audit.RecordAs(grant.UserId, grant.UserName, "lab.console", What, l!.Id, $"{l.Name}/{node}: not opened: {unreachable}");
                await db.SaveChangesAsync(ct);
                await RefuseInStreamAsync(http, unreachable);
                return TypedResults.Empty;
            }
            console = opened!;
        }
        var login = grant.Login is { } own ? $" as {own.Username} (the user's login)" : "";
        audit.RecordAs(grant.UserId, grant.UserName, grant.Mode == ConsoleMode.Watch ? "lab.console-watch" : "lab.console", What, l!.Id,
            $"{l.Name}/{node}: session {console.Id} ({ConsoleTargets.Name(console.Target)}{login})");
        await db.SaveChangesAsync(ct);
        using var socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = TimeSpan.FromSeconds(20),
            KeepAliveTimeout = TimeSpan.FromSeconds(20),
        });
        using var client = new ConsoleClient(socket, grant.UserId, grant.UserName, grant.Mode == ConsoleMode.Watch);
        await console.AttachAsync(client, size, ct);
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
        string lab, string node, LtbDbContext db, IAgentDirectory agents, ConsoleTickets tickets, CancellationToken ct, bool display = false)
    {
        var refused = Problems.Unauthorized(display
            ? "the display ticket is unknown, used or expired: ask for a new one (POST .../vnc/tickets)"
            : "the console ticket is unknown, used or expired: ask for a new one (POST .../console/tickets)");
        if (tickets.Redeem(ticket) is not { } grant || grant.Node != node || grant.Display != display)
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
        string node, string? mode, Guid? session, string? target, HttpContext http, LtbDbContext db, IResourceAuthorizer<Lab> authz,
        IAgentDirectory agents, ConsoleSessions sessions, NodeTypeStore nodeTypes, CancellationToken ct)
    {
        if (http.Features.Get<Caller>() is not { } caller)
        {
            return (null, null, null, Problems.Unauthorized("give ?ticket= (POST .../console/tickets) or 'Authorization: Bearer TOKEN'"));
        }
        if (ParseMode(mode) is not { } m)
        {
            return (null, null, null, Problems.BadRequest("mode is interactive or watch"));
        }
        if (target is not null && (m == ConsoleMode.Watch || session is not null))
        {
            return (null, null, null, Problems.BadRequest(TargetOfNewSession));
        }
        var (l, agent, problem) = await ConsoleAccessAsync(lab, node, m, session, caller, db, authz, agents, sessions, ct);
        if (problem is not null)
        {
            return (null, null, null, problem);
        }
        ConsoleType? chosen = null;
        if (m == ConsoleMode.Interactive && session is null)
        {
            // No username or password here: they would be in the URL (the ticket request carries them in its body).
            var (t, refusal) = await TargetOfAsync(l!, node, target, false, nodeTypes, ct);
            if (refusal is not null)
            {
                return (null, null, null, refusal);
            }
            chosen = t!.Type;
        }
        return (new ConsoleTicket(caller.UserId, caller.UserName, l!.Id, node, m, session, DateTimeOffset.MaxValue, chosen), l, agent, null);
    }

    private const string TargetOfNewSession = "target, username and password choose what a new console connects to; a reattached or watched session keeps its own";

    /// <summary>The shape of a ticket request's target and login (before any rights are checked: nothing about the lab).</summary>
    private static ValidationProblem? ParseTargetChoice(ConsoleTicketRequest? request, ConsoleMode mode)
    {
        if (request is null || (request.Target, request.Username, request.Password) is (null, null, null))
        {
            return null;
        }
        if (mode == ConsoleMode.Watch || request.Session is not null)
        {
            return Problems.Invalid("target", TargetOfNewSession);
        }
        if (request.Target is { } t && ConsoleTargets.Parse(t) is null)
        {
            return Problems.Invalid("target", $"is one of {string.Join(", ", ConsoleTargets.Names)}");
        }
        if ((request.Username is null) != (request.Password is null))
        {
            return Problems.Invalid("username", "username and password go together");
        }
        if (request.Username is { } u && (u.Length is 0 or > 64 || u.Any(char.IsControl) || request.Password!.Length > 256))
        {
            return Problems.Invalid("username", "a username is 1 to 64 characters without control characters; a password at most 256");
        }
        return null;
    }

    /// <summary>
    /// The target of a new console on <paramref name="node"/>: the user's choice (<paramref name="chosen"/>, already
    /// valid) or the node type's console; a user's own login only goes with ssh.
    /// </summary>
    private static async Task<(IConsoleTarget? Target, ProblemHttpResult? Refusal)> TargetOfAsync(Lab l, string node, string? chosen,
        bool ownLogin, NodeTypeStore nodeTypes, CancellationToken ct)
    {
        if (chosen is not null && ConsoleTargets.Parse(chosen) is null)
        {
            return (null, Problems.BadRequest($"target is one of {string.Join(", ", ConsoleTargets.Names)}"));
        }
        var type = LabViews.Kinds(l).TryGetValue(node, out var kind) ? (await nodeTypes.CatalogAsync(ct)).Find(kind) : null;
        var (target, refusal) = ConsoleTargets.For(type, chosen is null ? null : ConsoleTargets.Parse(chosen), node);
        if (target is null)
        {
            return (null, Problems.Conflict(refusal!));
        }
        return ownLogin && target.Type != ConsoleType.Ssh
            ? (null, Problems.BadRequest($"username and password are for an ssh console; node '{node}' gets {ConsoleTargets.Name(target.Type)}"))
            : (target, null);
    }

    /// <summary>
    /// Opens a new session on the grant's target: the management address from the host's status (ssh, telnet), the
    /// login from the ticket or the node type. A node the target cannot reach is a 409 naming the node and what to do.
    /// </summary>
    private static async Task<(ConsoleSession? Session, ProblemHttpResult? Problem, string? Unreachable)> OpenConsoleAsync(ConsoleTicket grant,
        Lab l, string node,
        ILabHostAgent agent, TerminalSize? size, LtbDbContext db, IAgentDirectory agents, ConsoleSessions sessions, NodeTypeStore nodeTypes,
        LabStatusCache statuses, CancellationToken ct)
    {
        var type = LabViews.Kinds(l).TryGetValue(node, out var kind) ? (await nodeTypes.CatalogAsync(ct)).Find(kind) : null;
        var (target, refusal) = ConsoleTargets.For(type, grant.Target, node);
        if (target is null)
        {
            return (null, Problems.Conflict(refusal!), null);
        }
        if (target.Type == ConsoleType.Serial && sessions.OfNode(l.Id, node).FirstOrDefault(s => s.Target == ConsoleType.Serial) is { } line)
        {
            // A VM's serial line serves one client (QEMU): a new console would wait for the open one to end. The user's
            // own session (a closed tab within its grace period) is taken over; another user's is theirs.
            return line.UserId == grant.UserId ? (line, null, null)
                : (null, Problems.Conflict($"the serial console of node '{node}' is in use by {line.UserName}'s session; watch it " +
                    "(mode watch) or ask them to close it"), null);
        }
        var address = target.Type == ConsoleType.Shell ? null : await MgmtAddressAsync(l, node, db, agents, statuses, ct);
        var request = new ConsoleTargetRequest(l.RuntimeName, l.Name, node, agent, address, grant.Login?.ToCredentials() ?? type?.Credentials, size,
            target.Type == type?.Console ? type.ConsolePort : null);
        try
        {
            var opened = await sessions.OpenAsync(grant.UserId, grant.UserName, l.Id, node, () => target.OpenAsync(request, ct), target.Type);
            return opened is null
                ? (null, Problems.Conflict($"you have {ConsoleSessions.MaxPerUser} consoles open, the most at once; close one first"), null)
                : (opened, null, null);
        }
        catch (LabRuntimeException e)
        {
            return (null, Problems.Conflict(UserMessage(e, l)), null);
        }
        catch (ConsoleTargetException e)
        {
            return (null, null, e.Message);
        }
    }

    /// <summary>The node's management IPv4 address as its host reports it (the status cache's picture), without a prefix length.</summary>
    private static async Task<string?> MgmtAddressAsync(Lab l, string node, LtbDbContext db, IAgentDirectory agents, LabStatusCache statuses,
        CancellationToken ct) =>
        (await SnapshotAsync(l, db, agents, statuses, ct)).Nodes.FirstOrDefault(n => n.Name == node)?.MgmtIpv4?.Split('/')[0] is { Length: > 0 } a
            ? a : null;

    /// <summary>
    /// A node the target cannot reach (refused, no answer, a wrong password): the WebSocket opens, one error frame says
    /// why and what to do, and it closes. A browser cannot read the body of a refused handshake; the terminal shows this.
    /// </summary>
    private static async Task RefuseInStreamAsync(HttpContext http, string message)
    {
        using var socket = await http.WebSockets.AcceptWebSocketAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await socket.SendAsync(ExecSocketFrames.Encode(new ExecSocketControl("error", Message: message)), WebSocketMessageType.Text, true,
                limit.Token);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "the console could not connect", limit.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // The client went away first.
        }
    }
}
