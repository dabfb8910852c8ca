using Ltb.Runtime.Docker;
using Ltb.Runtime.Status;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;

namespace Ltb.Server.Api;

/// <summary>Working with the nodes and links of a lab: exec, output, stop/start/restart, link state.</summary>
public static partial class LabsEndpoints
{
    private static readonly TimeSpan MaxExecTimeout = TimeSpan.FromMinutes(10);

    // ------------------------------------------------------------------ operate

    private static async Task<Results<Ok<ExecResponse>, ProblemHttpResult, ValidationProblem>> ExecAsync(string lab, ExecRequest request,
        Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents, AuditLog audit, Policy.PolicyStore policies,
        CancellationToken ct)
    {
        if (request.Command is not { Count: > 0 } || request.Command.Any(string.IsNullOrEmpty))
        {
            return Problems.Invalid("command", "give the command as a non-empty list of arguments");
        }
        var timeout = TimeSpan.FromSeconds(request.TimeoutSeconds ?? 60);
        if (timeout <= TimeSpan.Zero || timeout > MaxExecTimeout)
        {
            return Problems.Invalid("timeoutSeconds", $"is between 1 and {MaxExecTimeout.TotalSeconds:0}");
        }
        var (l, agent, problem) = await OperableAsync(lab, request.Node, caller, db, authz, agents, ct);
        if (problem is not null)
        {
            return problem;
        }
        audit.Record("lab.exec", What, l!.Id, Truncate($"{l.Name}/{request.Node}: {string.Join(' ', request.Command)}", 2000));
        await db.SaveChangesAsync(ct);
        try
        {
            // The host reads at most the limit (and kills the command there): the answer is bounded on both ends.
            var limit = OutputLimit(await policies.CurrentAsync(ct));
            var result = await agent!.ExecAsync(l.RuntimeName, request.Node, request.Command, timeout, limit, ct);
            return TypedResults.Ok(new ExecResponse(result.ExitCode, result.Stdout, result.Stderr, result.Truncated,
                result.Truncated ? CutNote(limit, "the command was stopped there (exit code 137)") : null));
        }
        catch (LabRuntimeException e)
        {
            return Problems.Conflict(UserMessage(e, l));
        }
    }

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult, ValidationProblem>> LogsAsync(string lab, string node, int? tail,
        bool? follow, HttpContext http, Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents,
        Policy.PolicyStore policies, CancellationToken ct)
    {
        if (tail is < 0)
        {
            return Problems.Invalid("tail", "is a number of lines (0 or more); leave it out for all");
        }
        // Reading is enough (a failed lab's output is what tells why it failed); the node's host must answer.
        var (l, agent, problem) = await NodeAccessAsync(lab, node, Operation.Read, caller, db, authz, agents, ct);
        if (problem is not null)
        {
            return problem;
        }
        var started = false;
        var limit = OutputLimit(await policies.CurrentAsync(ct));
        try
        {
            // Each piece is sent before the next is read (the host's stream waits for this reader): following a node
            // that floods its output holds one piece at a time here. Without follow the host stops at the limit.
            var cut = await agent!.NodeLogsAsync(l!.RuntimeName, node, tail, follow == true, limit, async (text, c) =>
            {
                if (!started)
                {
                    started = true;
                    http.Response.ContentType = "text/plain; charset=utf-8";
                    http.Response.Headers.CacheControl = "no-store";
                    http.Response.Headers[ApiConventions.OutputLimitHeader] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
                await http.Response.WriteAsync(text, c);
                await http.Response.Body.FlushAsync(c);
            }, ct);
            if (cut)
            {
                await http.Response.WriteAsync($"\n{ApiConventions.CutMarker}{CutNote(limit, "ask for the last lines only (tail) or follow")}\n", ct);
            }
        }
        catch (LabRuntimeException e) when (!started)
        {
            return Problems.Conflict(UserMessage(e, l!));
        }
        catch (Exception e) when (started && e is LabRuntimeException or OperationCanceledException)
        {
            // The output had begun (the node's host went away, or the reader left): the answer ends where it is.
        }
        return TypedResults.Empty;
    }

    private static async Task<Results<Ok<LabNodeDto>, ProblemHttpResult>> NodeAsync(string lab, string node, string action,
        Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents, LabStatusCache statuses, AuditLog audit,
        Events.LiveEventHub live, CancellationToken ct)
    {
        if (!Enum.TryParse<NodeAction>(action, ignoreCase: true, out var a) || !Enum.IsDefined(a) || action.Any(char.IsDigit))
        {
            return Problems.NotFound("node action (stop, start, restart)");
        }
        var (l, agent, problem) = await OperableAsync(lab, node, caller, db, authz, agents, ct);
        if (problem is not null)
        {
            return problem;
        }
        var (status, refused) = await OperateAsync(l!, node, $"node {node}: {action.ToLowerInvariant()}",
            () => agent!.NodeActionAsync(l!.RuntimeName, node, a, ct), db, statuses, audit, ct);
        if (refused is not null)
        {
            return refused;
        }
        var snapshot = LabViews.Snapshot(new LabStatus(l!.RuntimeName, LabState.Running, default, null, null, null, [status!], []), LabViews.Kinds(l));
        live.NodeChanged(l, node, snapshot.Nodes[0].State);
        return TypedResults.Ok(snapshot.Nodes[0]);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> LinkAsync(string lab, string node, string iface, string state,
        Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents, LabStatusCache statuses, AuditLog audit,
        CancellationToken ct)
    {
        if (state is not ("up" or "down"))
        {
            return Problems.NotFound("link state (up, down)");
        }
        var (l, agent, problem) = await OperableAsync(lab, node, caller, db, authz, agents, ct);
        if (problem is not null)
        {
            return problem;
        }
        var (_, refused) = await OperateAsync(l!, node, $"link {node}:{iface} {state}", async () =>
        {
            await agent!.SetLinkStateAsync(l!.RuntimeName, node, iface, state == "up", ct);
            return true;
        }, db, statuses, audit, ct);
        return refused is not null ? refused : TypedResults.NoContent();
    }

    /// <summary>
    /// Runs an operation on a node of a running lab and records it; the lab's status is read again afterwards (done or
    /// half done, the node changed). A refusal of the runtime is a 409 with its message.
    /// </summary>
    private static async Task<(T? Result, ProblemHttpResult? Refused)> OperateAsync<T>(Lab lab, string node, string what,
        Func<Task<T>> operation, LtbDbContext db, LabStatusCache statuses, AuditLog audit, CancellationToken ct)
    {
        try
        {
            T result;
            try
            {
                result = await operation();
            }
            finally
            {
                // Readers from now on see the node as the host does after the call.
                statuses.Invalidate(lab.Id);
            }
            await RecordAsync(db, audit, lab, node, what, ct);
            return (result, null);
        }
        catch (LabRuntimeException e)
        {
            return (default, Problems.Conflict(UserMessage(e, lab)));
        }
    }

    /// <summary>A node of a running lab the caller may operate, and the agent of its host.</summary>
    private static Task<(Lab? Lab, ILabHostAgent? Agent, ProblemHttpResult? Problem)> OperableAsync(string lab, string node,
        Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents, CancellationToken ct) =>
        NodeAccessAsync(lab, node, Operation.Update, caller, db, authz, agents, ct);

    /// <summary>A node of a lab the caller has <paramref name="operation"/> on, and the agent of its host; the lab must be
    /// running to operate it, and deployed (running or failed) to read it.</summary>
    private static async Task<(Lab? Lab, ILabHostAgent? Agent, ProblemHttpResult? Problem)> NodeAccessAsync(string lab, string node,
        Operation operation, Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents, CancellationToken ct)
    {
        // Checked here rather than by an Authorized<Lab> parameter: each caller validates its request first.
        var access = await authz.FindAsync(db, caller, lab, operation, ct);
        if (access.Denied is { } denied)
        {
            return (null, null, denied);
        }
        var l = access.Resource!;
        if (!(l.State == LabLifecycle.Running || (operation == Operation.Read && l.State == LabLifecycle.Failed)))
        {
            return (null, null, Problems.Conflict($"lab '{l.Name}' is {LabViews.State(l.State)}, not running" +
                (l.Error is null ? "" : $": {l.Error}")));
        }
        if (!LabViews.Kinds(l).ContainsKey(node))
        {
            return (null, null, Problems.NotFound($"node '{node}' in lab '{l.Name}'"));
        }
        if (await AgentOfAsync(db, agents, l, ct) is not { } agent)
        {
            return (null, null, Problems.Conflict($"lab '{l.Name}': its host has no connected agent"));
        }
        return (l, agent, null);
    }

    private static async Task RecordAsync(LtbDbContext db, AuditLog audit, Lab lab, string node, string message, CancellationToken ct)
    {
        db.LabEvents.Add(new LabEvent { LabId = lab.Id, At = DateTimeOffset.UtcNow, Level = LabEventLevel.Info, Node = node, Message = message });
        audit.Record("lab.operate", What, lab.Id, $"{lab.Name}: {message}");
        await db.SaveChangesAsync(ct);
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];

    private static long OutputLimit(Ltb.Topology.Policy.TenantPolicy policy) => Math.Clamp(policy.OutputLimitBytes, 1, ContainerExec.HardLimitBytes);

    private static string CutNote(long limit, string what) =>
        $"output cut at {limit} bytes, the limit per answer (OutputLimitBytes of the tenant policy); {what}";
}
