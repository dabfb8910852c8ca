using Ltb.Runtime.Status;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Catalog;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>
/// /api/v1/labs: deploy (a DeploymentTask), list, inspect, destroy (a RemovalTask), exec, node and link operations;
/// /api/v1/tasks: follow a task. `{lab}` is the lab's id, or the name of one of the caller's own labs. Access rules:
/// <see cref="LabAuthorizer"/>. Reading and destroying are here; deploying is in LabsEndpoints.Deploy.cs, and working
/// with nodes and links (exec, output, node actions, link state) in LabsEndpoints.Nodes.cs.
/// </summary>
public static partial class LabsEndpoints
{
    private const string What = "lab";

    public static RouteGroupBuilder MapLabsEndpoints(this RouteGroupBuilder api)
    {
        var labs = api.MapGroup("/labs").WithTags("Labs");
        labs.MapPost("/", DeployAsync).WithName("DeployLab").DisableAntiforgery()
            .WithSummary("Deploy a lab (multipart: topology and files, or template and templateVersion, or snapshot (restore; reset=true replaces the running lab of that name); name, reconfigure, onFailure=keep|rollback, linkBackend=veth|linux-bridge|ovs, groupId); answers 202 with the task");
        labs.MapGet("/", ListAsync).WithName("ListLabs").WithSummary("The labs the caller may see");
        labs.MapGet("/{lab}", GetAsync).WithName("GetLab").WithSummary("A lab's status (nodes, interfaces, links, as the host saw them at observedAt, at most a few seconds ago) and events");
        labs.MapDelete("/{lab}", DestroyAsync).WithName("DestroyLab").WithSummary("Destroy a lab (202 with the removal task)");
        labs.MapGet("/{lab}/access", AccessAsync).WithName("GetLabAccess")
            .WithSummary("How to reach the lab's nodes: management addresses, published ports, default credentials, groups; an ~/.ssh/config snippet and an Ansible inventory");
        labs.MapGet("/{lab}/tasks", TasksAsync).WithName("ListLabTasks").WithSummary("The lab's tasks, newest first");
        labs.MapPost("/{lab}/exec", ExecAsync).WithName("ExecInNode").WithSummary("Run a command (argument vector) in a node; answers its output and exit code");
        labs.MapGet("/{lab}/nodes/{node}/logs", LogsAsync).WithName("GetNodeLogs").Produces<string>(StatusCodes.Status200OK, "text/plain")
            .WithSummary("A node's output (stdout and stderr) as text: the last `tail` lines (default: all), then with `follow=true` what it writes");
        labs.MapPost("/{lab}/nodes/{node}/{action}", NodeAsync).WithName("ControlNode").WithSummary("Stop, start or restart a node");
        labs.MapPost("/{lab}/links/{node}/{iface}/{state}", LinkAsync).WithName("SetLinkState").WithSummary("Set the link at node:iface down or up");
        MapEventStreams(labs, api);
        MapSessionEndpoints(labs);
        MapConsoleEndpoints(labs);
        MapDisplayEndpoints(labs);
        MapCaptureEndpoints(labs);
        MapMirrorEndpoints(labs);
        MapDecodedCaptureEndpoints(labs);
        MapInfoEndpoints(labs);
        api.MapGet("/tasks/{id:guid}", TaskAsync).WithName("GetTask").WithTags("Labs").WithSummary("A lab task: state, progress, log, error");
        return api;
    }

    // ------------------------------------------------------------------ read

    private static async Task<Results<Ok<Paged<LabDto>>, ValidationProblem>> ListAsync(Caller caller, LtbDbContext db,
        IResourceAuthorizer<Lab> authz, bool? all, [AsParameters] PageQuery paging, CancellationToken ct)
    {
        // Removed labs are history: listed only with ?all=true.
        var query = authz.Visible(db.Labs, caller).Include(l => l.Owner).Where(l => all == true || l.State != LabLifecycle.Removed);
        var hosts = await LabViews.HostsAsync(db, ct);
        var result = await query.OrderBy(l => l.Name).ThenBy(l => l.Id)
            .ToPageAsync(paging.Request, l => LabViews.ToDto(l, l.Owner?.UserName ?? "", LabViews.Stored(l), hosts), ct);
        return TypedResults.Ok(result);
    }

    private static async Task<Results<Ok<LabDto>, ProblemHttpResult>> GetAsync(string lab, Caller caller, LtbDbContext db,
        IResourceAuthorizer<Lab> authz, IAgentDirectory agents, LabStatusCache statuses, LabReadCache reads, CancellationToken ct)
    {
        var access = await FindReadAsync(lab, caller, db, authz, reads, ct);
        if (access.Denied is { } denied)
        {
            return denied;
        }
        var read = access.Resource!;
        var snapshot = await SnapshotAsync(read.Lab, db, agents, statuses, ct);
        return TypedResults.Ok(LabViews.ToDto(read.Lab, read.Owner, snapshot, read.Hosts, read.Events));
    }

    /// <summary>The lab's nodes and links live from the host, observed at most a few seconds ago; the stored snapshot when
    /// the lab does not run or the host does not answer.</summary>
    internal static async Task<LabSnapshot> SnapshotAsync(Lab l, LtbDbContext db, IAgentDirectory agents, LabStatusCache statuses,
        CancellationToken ct)
    {
        if (l.State is LabLifecycle.Running or LabLifecycle.Failed or LabLifecycle.Deploying)
        {
            var reading = await statuses.GetAsync(l.Id, l.RuntimeName, () => AgentOfAsync(db, agents, l, ct), ct);
            if (reading.Status is { } status)
            {
                return LabViews.Snapshot(status, LabViews.Kinds(l), reading.At);
            }
        }
        return LabViews.Stored(l);
    }

    private static async Task<Results<Ok<LabAccessDto>, ProblemHttpResult>> AccessAsync(string lab, Caller caller, HttpContext http,
        LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents, LabStatusCache statuses, LabReadCache reads,
        NodeTypeStore nodeTypes, SshGateway.SshGatewayListener gateway, CancellationToken ct)
    {
        var access = await FindReadAsync(lab, caller, db, authz, reads, ct);
        if (access.Denied is { } denied)
        {
            return denied;
        }
        var read = access.Resource!;
        var l = read.Lab;
        var snapshot = await SnapshotAsync(l, db, agents, statuses, ct);
        var layout = LabLayout.Parse(l.LayoutJson);
        // A port bound on every address of the in-process (local) host is reached at the address the caller used for the
        // server; on a remote host at the address the agent registered.
        string HostAddress(string node)
        {
            var host = read.Hosts.GetValueOrDefault(layout is not null && layout.NodeHosts.TryGetValue(node, out var at) ? at : l.HostId);
            return host is null or { IsLocal: true } ? http.Request.Host.Host
                : Uri.TryCreate(host.Address, UriKind.Absolute, out var uri) ? uri.Host : host.Address;
        }
        var ssh = gateway.Port is { } port
            ? new SshGatewayAddress(gateway.PublicHost ?? http.Request.Host.Host, port, gateway.Account)
            : null;
        return TypedResults.Ok(LabAccess.Of(l, snapshot, LabViews.Groups(l), await nodeTypes.CatalogAsync(ct), HostAddress, ssh));
    }

    /// <summary>
    /// A status read, off the database while nothing changed (<see cref="LabReadCache"/>): by id, the cached lab checked in
    /// memory by the same rule as the authorizer's query; by name, the caller's own lab found in the database first.
    /// </summary>
    private static async Task<Access<LabReadCache.LabRead>> FindReadAsync(string lab, Caller caller, LtbDbContext db,
        IResourceAuthorizer<Lab> authz, LabReadCache reads, CancellationToken ct)
    {
        Guid id;
        if (!Guid.TryParse(lab, out id))
        {
            var access = await authz.FindAsync(db, caller, lab, Operation.Read, ct);
            if (access.Denied is { } denied)
            {
                return new Access<LabReadCache.LabRead>(null, denied);
            }
            id = access.Resource!.Id;
        }
        var read = await reads.GetAsync(db, id, ct);
        var visible = read is not null && LabAuthorizer.Sees(caller, read.Lab) ? read.Lab : null;
        var checkedLab = authz.Check(visible, caller, Operation.Read, What);
        return checkedLab.Denied is { } refused ? new Access<LabReadCache.LabRead>(null, refused) : new Access<LabReadCache.LabRead>(read, null);
    }

    private static async Task<Results<Ok<Paged<LabTaskDto>>, ProblemHttpResult, ValidationProblem>> TasksAsync(
        [AsParameters] PageQuery paging, [For(Operation.Read)] Authorized<Lab> authorized, LtbDbContext db, CancellationToken ct)
    {
        var id = authorized.Value.Id;
        return TypedResults.Ok(await db.LabTasks.Where(t => t.LabId == id).OrderByDescending(t => t.CreatedAt).ThenBy(t => t.Id)
            .ToPageAsync(paging.Request, LabViews.ToDto, ct));
    }

    private static async Task<Results<Ok<LabTaskDto>, ProblemHttpResult>> TaskAsync(Guid id, Caller caller, LtbDbContext db,
        IResourceAuthorizer<Lab> authz, CancellationToken ct)
    {
        var task = await db.LabTasks.AsNoTracking().FirstOrDefaultAsync(t => t.Id == id, ct);
        // A task is visible with its lab.
        if (task is null || !await authz.Visible(db.Labs, caller).AnyAsync(l => l.Id == task.LabId, ct))
        {
            return Problems.NotFound("task");
        }
        return TypedResults.Ok(LabViews.ToDto(task));
    }

    // ------------------------------------------------------------------ destroy

    private static async Task<Results<Accepted<LabTaskAccepted>, ProblemHttpResult>> DestroyAsync(
        [For(Operation.Delete)] Authorized<Lab> authorized, Caller caller, LtbDbContext db, ILabTaskQueue queue, AuditLog audit,
        CancellationToken ct)
    {
        var l = authorized.Value;
        if (l.State == LabLifecycle.Removed)
        {
            return Problems.Conflict($"lab '{l.Name}' is removed already");
        }
        // Queued behind the lab's running deployment (the queue keeps a lab's tasks in order), the removal runs when it ends.
        var now = DateTimeOffset.UtcNow;
        var task = LabReconciler.NewTask(l, LabTaskKind.Removal, "{}", now);
        db.LabTasks.Add(task);
        db.LabEvents.Add(new LabEvent { LabId = l.Id, At = now, Level = LabEventLevel.Info, Message = $"removal requested by {caller.UserName}" });
        audit.Record("lab.destroy", What, l.Id, l.Name);
        await db.SaveChangesAsync(ct);
        queue.Enqueue(l.HostId, task.Id);
        return TypedResults.Accepted($"/api/v1/tasks/{task.Id}", new LabTaskAccepted(LabViews.ToDto(l, caller.UserName, LabViews.Stored(l), await LabViews.HostsAsync(db, ct)), LabViews.ToDto(task)));
    }

    // ------------------------------------------------------------------ helpers

    private static Task<ILabHostAgent?> AgentOfAsync(LtbDbContext db, IAgentDirectory agents, Lab lab, CancellationToken ct) =>
        agents.ForLabAsync(db, lab, ct);

    private static string UserMessage(LabRuntimeException e, Lab lab) =>
        e.Message.Replace($"'{lab.RuntimeName}'", $"'{lab.Name}'", StringComparison.Ordinal);
}
