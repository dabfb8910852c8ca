using System.Text.Json;
using Ltb.Runtime.Status;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Catalog;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Ltb.Server.Labs.Placement;
using Ltb.Server.Labs.Spanning;
using Ltb.Server.Templates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>
/// /api/v1/labs: deploy (a DeploymentTask), list, inspect, destroy (a RemovalTask), exec, node and link operations;
/// /api/v1/tasks: follow a task. `{lab}` is the lab's id, or the name of one of the caller's own labs. Access rules:
/// <see cref="LabAuthorizer"/>.
/// </summary>
public static class LabsEndpoints
{
    private const string What = "lab";
    private static readonly TimeSpan MaxExecTimeout = TimeSpan.FromMinutes(10);

    public static RouteGroupBuilder MapLabsEndpoints(this RouteGroupBuilder api)
    {
        var labs = api.MapGroup("/labs").WithTags("Labs");
        labs.MapPost("/", DeployAsync).DisableAntiforgery()
            .WithSummary("Deploy a lab (multipart: topology and files, or template and templateVersion; name, reconfigure, onFailure=keep|rollback, linkBackend=veth|linux-bridge|ovs, groupId); answers 202 with the task");
        labs.MapGet("/", ListAsync).WithSummary("The labs the caller may see");
        labs.MapGet("/{lab}", GetAsync).WithSummary("A lab's status (nodes, interfaces, links, as the host saw them at observedAt, at most a few seconds ago) and events");
        labs.MapDelete("/{lab}", DestroyAsync).WithSummary("Destroy a lab (202 with the removal task)");
        labs.MapGet("/{lab}/tasks", TasksAsync).WithSummary("The lab's tasks, newest first");
        labs.MapPost("/{lab}/exec", ExecAsync).WithSummary("Run a command (argument vector) in a node; answers its output and exit code");
        labs.MapGet("/{lab}/nodes/{node}/logs", LogsAsync)
            .WithSummary("A node's output (stdout and stderr) as text: the last `tail` lines (default: all), then with `follow=true` what it writes");
        labs.MapPost("/{lab}/nodes/{node}/{action}", NodeAsync).WithSummary("Stop, start or restart a node");
        labs.MapPost("/{lab}/links/{node}/{iface}/{state}", LinkAsync).WithSummary("Set the link at node:iface down or up");
        api.MapGet("/tasks/{id:guid}", TaskAsync).WithTags("Labs").WithSummary("A lab task: state, progress, log, error");
        return api;
    }

    // ------------------------------------------------------------------ deploy

    private static async Task<Results<Accepted<LabTaskAccepted>, ProblemHttpResult, ValidationProblem>> DeployAsync(
        HttpRequest request, Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, ILabTaskQueue queue,
        LtbServerOptions options, AuditLog audit, NodeTypeStore nodeTypes, IResourceAuthorizer<LabTemplate> templates,
        IResourceAuthorizer<LabHost> hostAuthz, CancellationToken ct)
    {
        if (authz.Refuse(caller, Operation.Create, What) is { } refused)
        {
            return refused;
        }
        if (!request.HasFormContentType)
        {
            return Problems.Invalid("topology", "send the topology as multipart/form-data (a 'topology' file, its files as 'files')");
        }
        var form = await request.ReadFormAsync(ct);
        var topology = form.Files.GetFile("topology");
        var reconfigure = form["reconfigure"] is [var r] && bool.TryParse(r, out var rb) && rb;
        var onFailure = form["onFailure"].ToString() is var of && of.Length > 0 ? of : "keep";
        if (onFailure is not ("keep" or "rollback"))
        {
            return Problems.Invalid("onFailure", "is 'keep' (a failed lab stays, to inspect and destroy) or 'rollback'");
        }
        var backendName = form["linkBackend"].ToString() is { Length: > 0 } lb ? lb : "veth";
        if (!LabSources.LinkBackends.TryGetValue(backendName, out var backend))
        {
            return Problems.Invalid("linkBackend", $"is one of {string.Join(", ", LabSources.LinkBackends.Keys)}, not '{backendName}'");
        }
        Guid? groupId = null;
        if (form["groupId"].ToString() is { Length: > 0 } g)
        {
            if (!Guid.TryParse(g, out var gid) || !(caller.IsAdmin || caller.IsMemberOf(gid)))
            {
                return Problems.Invalid("groupId", "share a lab only with a group you are a member of");
            }
            groupId = gid;
        }

        // The files land in the folder of a new lab id; an existing lab (reconfigure) takes them over below.
        var newId = Guid.NewGuid();
        var staging = LabSources.FilesDirectory(options.DataDirectory, newId);
        string fileName;
        string source;
        LabTemplateVersion? fromTemplate = null;
        if (form["template"].ToString() is { Length: > 0 } templateRef)
        {
            // A stored template: its version's topology and files, written out as if uploaded. Reading it is enough.
            var (version, missing) = await TemplateVersionAsync(templateRef, form["templateVersion"].ToString(), caller, db, templates, ct);
            if (version is null)
            {
                return missing!;
            }
            fileName = await TemplateStore.WriteAsync(db, version, staging, ct);
            source = $"template {templateRef} version {version.Number}";
            fromTemplate = version;
        }
        else if (topology is null)
        {
            return Problems.Invalid("topology", "a 'topology' file (or a 'template' id) is required");
        }
        else if (await LabSources.StoreAsync(staging, topology, form.Files.GetFiles("files"), ct) is { } stored)
        {
            DeleteFolder(staging);
            return Problems.Invalid("files", stored);
        }
        else
        {
            fileName = topology.FileName;
            source = fileName;
        }
        // Loaded once, in the staging folder, with the effective catalog (admins' node types, retirements).
        var catalog = await nodeTypes.CatalogAsync(ct);
        var loaded = LabSources.LoadTopology(staging, fileName, caller.IsAdmin, catalog);
        if (loaded.Lab is null)
        {
            DeleteFolder(Path.GetDirectoryName(staging)!);
            return Problems.Invalid(new Dictionary<string, string[]> { ["topology"] = [.. loaded.Errors] });
        }
        var name = form["name"].ToString() is { Length: > 0 } n ? n : loaded.Lab.Name;
        if (!LabNames.Valid().IsMatch(name))
        {
            DeleteFolder(Path.GetDirectoryName(staging)!);
            return Problems.Invalid("name", $"'{name}' is not a valid lab name ({LabNames.Rule}); choose one with --name");
        }

        var lab = await db.Labs.FirstOrDefaultAsync(l => l.OwnerId == caller.UserId && l.Name == name, ct);
        var apply = false;
        // A failed lab (a failed or interrupted deployment) is redeployed: removed first, then deployed, in one go.
        var redeploy = lab is { State: LabLifecycle.Failed } && !reconfigure;
        if (lab is not null && lab.State != LabLifecycle.Removed && !redeploy)
        {
            if (!reconfigure || lab.State != LabLifecycle.Running)
            {
                DeleteFolder(Path.GetDirectoryName(staging)!);
                return Problems.Conflict(reconfigure
                    ? $"lab '{name}' is {LabViews.State(lab.State)}; only a running lab can be reconfigured: destroy it and deploy again"
                    : $"lab '{name}' exists already ({LabViews.State(lab.State)}); destroy it (ltb lab destroy {name}), deploy with --reconfigure, or choose another name (--name)");
            }
            apply = true;
        }
        var runtimeName = lab?.RuntimeName ?? LabNames.Runtime(name, newId);
        var planned = LabSources.Plan(loaded, runtimeName, caller.IsAdmin, backend);
        if (planned.Errors.Count > 0 || planned.Plan is null)
        {
            DeleteFolder(Path.GetDirectoryName(staging)!);
            return Problems.Invalid(new Dictionary<string, string[]> { ["topology"] = [.. planned.Errors] });
        }
        var plan = planned.Plan;
        // Pins first: their refusals point at the node in the topology.
        var (notPinned, invalidPin) = await NodePins.CheckAsync(db, hostAuthz, caller, loaded.Lab.Nodes, lab, ct);
        if (notPinned is not null || invalidPin is not null)
        {
            DeleteFolder(Path.GetDirectoryName(staging)!);
            return notPinned is not null ? notPinned : invalidPin!;
        }
        // Held until the lab and its task are saved: a concurrent deployment sees this lab's demand (Labs/Placement).
        await using var placementLock = await PlacementLock.AcquireAsync(db, ct);
        var (placement, notPlaced, invalidHost) = await LabPlacement.ChooseAsync(db, hostAuthz, caller, form["host"].ToString(), lab,
            LabDemand.Of(plan, loaded.Kinds, catalog), ct);
        if (placement is null)
        {
            DeleteFolder(Path.GetDirectoryName(staging)!);
            return notPlaced is not null ? notPlaced : invalidHost!;
        }
        var host = placement.Host;
        var now = DateTimeOffset.UtcNow;
        if (lab is null)
        {
            lab = new Lab { Id = newId, Name = name, RuntimeName = runtimeName, OwnerId = caller.UserId, HostId = host.Id, CreatedAt = now };
            db.Labs.Add(lab);
        }
        lab.HostId = host.Id; // a removed lab deployed again may land on another host
        lab.LayoutJson = placement.Layout?.ToJson();
        lab.PlacementReason = placement.Reason;
        await LabTunnelAllocator.AssignAsync(db, lab, plan, placement.Layout, ct);
        var files = LabSources.FilesDirectory(options.DataDirectory, lab.Id);
        if (lab.Id != newId)
        {
            // Overwrite in place: running nodes of an applied lab keep their bind mounts at the same paths.
            CopyFolder(staging, files);
            DeleteFolder(Path.GetDirectoryName(staging)!);
            plan = LabSources.Relocate(plan, staging, files);
        }
        lab.GroupId = groupId ?? lab.GroupId;
        lab.State = LabLifecycle.Pending;
        lab.Error = null;
        lab.SourceFormat = loaded.Format;
        lab.SourceText = loaded.Text;
        lab.SourceFileName = fileName;
        lab.TemplateId = fromTemplate?.TemplateId;
        lab.TemplateVersion = fromTemplate?.Number;
        lab.NodeKindsJson = JsonSerializer.Serialize(loaded.Kinds, LabTaskRunner.Json);
        lab.UpdatedAt = now;
        var input = new DeploymentInput(plan, new AgentDeployOptions(Rollback: onFailure == "rollback"), apply);
        var task = LabReconciler.NewTask(lab, LabTaskKind.Deployment, JsonSerializer.Serialize(input, LabTaskRunner.Json), now);
        // The host's worker runs tasks in order: the removal ends before the deployment starts.
        var removal = redeploy ? LabReconciler.NewTask(lab, LabTaskKind.Removal, "{}", now) : null;
        if (removal is not null)
        {
            task.CreatedAt = now.AddMilliseconds(1); // after the removal in the task list (SQLite keeps milliseconds)
            db.LabTasks.Add(removal);
        }
        db.LabTasks.Add(task);
        db.LabEvents.Add(new LabEvent { LabId = lab.Id, At = now, Level = LabEventLevel.Info,
            Message = $"{(apply ? "reconfiguration" : redeploy ? "redeployment" : "deployment")} of {source} requested by {caller.UserName}" });
        audit.Record(apply ? "lab.reconfigure" : "lab.deploy", What, lab.Id, $"{name} ({source})");
        await LabTunnelAllocator.SaveAsync(db, ct); // draws VNIs again if another request took one meanwhile
        await placementLock.CommitAsync(ct);
        if (removal is not null)
        {
            queue.Enqueue(lab.HostId, removal.Id);
        }
        queue.Enqueue(lab.HostId, task.Id);
        return TypedResults.Accepted($"/api/v1/tasks/{task.Id}",
            new LabTaskAccepted(LabViews.ToDto(lab, caller.UserName, LabViews.Stored(lab), await LabViews.HostsAsync(db, ct)), LabViews.ToDto(task)));
    }

    /// <summary>A template version the caller may read: `template` is an id, `templateVersion` a number (default: current).</summary>
    private static async Task<(LabTemplateVersion? Version, ProblemHttpResult? Problem)> TemplateVersionAsync(string templateRef,
        string versionText, Caller caller, LtbDbContext db, IResourceAuthorizer<LabTemplate> templates, CancellationToken ct)
    {
        if (!Guid.TryParse(templateRef, out var templateId))
        {
            return (null, Problems.NotFound($"template '{templateRef}' (give its id)"));
        }
        var access = await templates.FindAsync(db.LabTemplates, t => t.Id == templateId, caller, Operation.Read, "template", ct);
        if (access.Denied is { } denied)
        {
            return (null, denied);
        }
        var number = int.TryParse(versionText, out var v) ? v : access.Resource!.CurrentVersion;
        var version = await db.LabTemplateVersions.AsNoTracking().FirstOrDefaultAsync(x => x.TemplateId == templateId && x.Number == number, ct);
        return version is null
            ? (null, Problems.NotFound($"version {versionText} of template '{access.Resource!.Name}'"))
            : (version, null);
    }

    // ------------------------------------------------------------------ read

    private static async Task<Results<Ok<Paged<LabDto>>, ValidationProblem>> ListAsync(Caller caller, LtbDbContext db,
        IResourceAuthorizer<Lab> authz, bool? all, int? page, int? pageSize, CancellationToken ct)
    {
        var (request, error) = PageRequest.From(page, pageSize);
        if (request is not { } paging)
        {
            return Problems.Invalid("page", error!);
        }
        // Removed labs are history: listed only with ?all=true.
        var query = authz.Visible(db.Labs, caller).Include(l => l.Owner).Where(l => all == true || l.State != LabLifecycle.Removed);
        var hosts = await LabViews.HostsAsync(db, ct);
        var result = await query.OrderBy(l => l.Name).ThenBy(l => l.Id)
            .ToPageAsync(paging, l => LabViews.ToDto(l, l.Owner?.UserName ?? "", LabViews.Stored(l), hosts), ct);
        return TypedResults.Ok(result);
    }

    private static async Task<Results<Ok<LabDto>, ProblemHttpResult>> GetAsync(string lab, Caller caller, LtbDbContext db,
        IResourceAuthorizer<Lab> authz, IAgentDirectory agents, LabStatusCache statuses, CancellationToken ct)
    {
        var access = await FindAsync(lab, caller, db, authz, Operation.Read, ct);
        if (access.Denied is { } denied)
        {
            return denied;
        }
        var l = access.Resource!;
        var snapshot = LabViews.Stored(l);
        if (l.State is LabLifecycle.Running or LabLifecycle.Failed or LabLifecycle.Deploying)
        {
            // Live from the host, observed at most a few seconds ago; the stored snapshot answers when the host does not.
            var reading = await statuses.GetAsync(l.Id, l.RuntimeName, () => AgentOfAsync(db, agents, l, ct), ct);
            if (reading.Status is { } status)
            {
                snapshot = LabViews.Snapshot(status, LabViews.Kinds(l), reading.At);
            }
        }
        var events = await db.LabEvents.Where(e => e.LabId == l.Id).OrderByDescending(e => e.Id).Take(200).ToListAsync(ct);
        var owner = await db.Users.Where(u => u.Id == l.OwnerId).Select(u => u.UserName).FirstOrDefaultAsync(ct) ?? "";
        return TypedResults.Ok(LabViews.ToDto(l, owner, snapshot, await LabViews.HostsAsync(db, ct),
            events.OrderBy(e => e.Id).Select(LabViews.ToDto).ToList()));
    }

    private static async Task<Results<Ok<Paged<LabTaskDto>>, ProblemHttpResult, ValidationProblem>> TasksAsync(string lab,
        Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, int? page, int? pageSize, CancellationToken ct)
    {
        var (request, error) = PageRequest.From(page, pageSize);
        if (request is not { } paging)
        {
            return Problems.Invalid("page", error!);
        }
        var access = await FindAsync(lab, caller, db, authz, Operation.Read, ct);
        if (access.Denied is { } denied)
        {
            return denied;
        }
        var id = access.Resource!.Id;
        return TypedResults.Ok(await db.LabTasks.Where(t => t.LabId == id).OrderByDescending(t => t.CreatedAt).ThenBy(t => t.Id)
            .ToPageAsync(paging, LabViews.ToDto, ct));
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

    private static async Task<Results<Accepted<LabTaskAccepted>, ProblemHttpResult>> DestroyAsync(string lab, Caller caller,
        LtbDbContext db, IResourceAuthorizer<Lab> authz, ILabTaskQueue queue, AuditLog audit, CancellationToken ct)
    {
        var access = await FindAsync(lab, caller, db, authz, Operation.Delete, ct);
        if (access.Denied is { } denied)
        {
            return denied;
        }
        var l = access.Resource!;
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

    // ------------------------------------------------------------------ operate

    private static async Task<Results<Ok<ExecResponse>, ProblemHttpResult, ValidationProblem>> ExecAsync(string lab, ExecRequest request,
        Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents, AuditLog audit, CancellationToken ct)
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
            var result = await agent!.ExecAsync(l.RuntimeName, request.Node, request.Command, timeout, ct);
            return TypedResults.Ok(new ExecResponse(result.ExitCode, result.Stdout, result.Stderr));
        }
        catch (LabRuntimeException e)
        {
            return Problems.Conflict(UserMessage(e, l));
        }
    }

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult, ValidationProblem>> LogsAsync(string lab, string node, int? tail,
        bool? follow, HttpContext http, Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents,
        CancellationToken ct)
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
        try
        {
            await agent!.NodeLogsAsync(l!.RuntimeName, node, tail, follow == true, async (text, c) =>
            {
                if (!started)
                {
                    started = true;
                    http.Response.ContentType = "text/plain; charset=utf-8";
                    http.Response.Headers.CacheControl = "no-store";
                }
                await http.Response.WriteAsync(text, c);
                await http.Response.Body.FlushAsync(c);
            }, ct);
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
        CancellationToken ct)
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
        try
        {
            NodeStatus status;
            try
            {
                status = await agent!.NodeActionAsync(l!.RuntimeName, node, a, ct);
            }
            finally
            {
                // Done or half done, the node changed: readers from now on see it as the host does after the call.
                statuses.Invalidate(l!.Id);
            }
            await RecordAsync(db, audit, l, node, $"node {node}: {action.ToLowerInvariant()}", ct);
            var snapshot = LabViews.Snapshot(new LabStatus(l.RuntimeName, LabState.Running, default, null, null, null, [status], []), LabViews.Kinds(l));
            return TypedResults.Ok(snapshot.Nodes[0]);
        }
        catch (LabRuntimeException e)
        {
            return Problems.Conflict(UserMessage(e, l!));
        }
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
        try
        {
            try
            {
                await agent!.SetLinkStateAsync(l!.RuntimeName, node, iface, state == "up", ct);
            }
            finally
            {
                statuses.Invalidate(l!.Id);
            }
            await RecordAsync(db, audit, l, node, $"link {node}:{iface} {state}", ct);
            return TypedResults.NoContent();
        }
        catch (LabRuntimeException e)
        {
            return Problems.Conflict(UserMessage(e, l!));
        }
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>The lab by id (any visible lab) or by name (the caller's own), checked for the operation.</summary>
    private static async Task<Access<Lab>> FindAsync(string lab, Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz,
        Operation operation, CancellationToken ct) =>
        Guid.TryParse(lab, out var id)
            ? await authz.FindAsync(db.Labs, l => l.Id == id, caller, operation, What, ct)
            : await authz.FindAsync(db.Labs.Where(l => l.State != LabLifecycle.Removed), l => l.OwnerId == caller.UserId && l.Name == lab, caller, operation, What, ct);

    /// <summary>A lab the caller may operate, running, with a valid node name and a connected agent.</summary>
    /// <summary>A node of a running lab the caller may operate, and the agent of its host.</summary>
    private static Task<(Lab? Lab, ILabHostAgent? Agent, ProblemHttpResult? Problem)> OperableAsync(string lab, string node,
        Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents, CancellationToken ct) =>
        NodeAccessAsync(lab, node, Operation.Update, caller, db, authz, agents, ct);

    /// <summary>A node of a lab the caller has <paramref name="operation"/> on, and the agent of its host; the lab must be
    /// running to operate it, and deployed (running or failed) to read it.</summary>
    private static async Task<(Lab? Lab, ILabHostAgent? Agent, ProblemHttpResult? Problem)> NodeAccessAsync(string lab, string node,
        Operation operation, Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents, CancellationToken ct)
    {
        var access = await FindAsync(lab, caller, db, authz, operation, ct);
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

    private static Task<ILabHostAgent?> AgentOfAsync(LtbDbContext db, IAgentDirectory agents, Lab lab, CancellationToken ct) =>
        agents.ForLabAsync(db, lab, ct);

    private static async Task RecordAsync(LtbDbContext db, AuditLog audit, Lab lab, string node, string message, CancellationToken ct)
    {
        db.LabEvents.Add(new LabEvent { LabId = lab.Id, At = DateTimeOffset.UtcNow, Level = LabEventLevel.Info, Node = node, Message = message });
        audit.Record("lab.operate", What, lab.Id, $"{lab.Name}: {message}");
        await db.SaveChangesAsync(ct);
    }

    private static string UserMessage(LabRuntimeException e, Lab lab) =>
        e.Message.Replace($"'{lab.RuntimeName}'", $"'{lab.Name}'", StringComparison.Ordinal);

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];

    private static void DeleteFolder(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }
}
