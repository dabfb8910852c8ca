using Ltb.Runtime.Capture;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Ltb.Server.Labs.Tasks;

namespace Ltb.Server.Api;

/// <summary>
/// Mirror interfaces: <c>POST /labs/{lab}/mirrors</c> and <c>DELETE /labs/{lab}/mirrors/{name}</c> queue a mirror
/// task (<see cref="MirrorInterfaceTaskHandler"/>) on the lab's host; <c>GET /labs/{lab}/mirrors</c> lists them as the
/// host sees them (also in the lab's status, beside its links). A mirror is captured with <c>capture?mirror=NAME</c>.
/// Creating and removing are operations on the lab (its owner, an instructor of its group, an admin), like link state.
/// </summary>
public static partial class LabsEndpoints
{
    private static void MapMirrorEndpoints(RouteGroupBuilder labs)
    {
        labs.MapGet("/{lab}/mirrors", ListMirrorsAsync).WithName("ListMirrors")
            .WithSummary("The lab's mirror interfaces: each receives a copy of both directions of one link end's traffic");
        labs.MapPost("/{lab}/mirrors", CreateMirrorAsync).WithName("CreateMirror")
            .WithSummary("Create a mirror interface on a link end (node, interface, optional name): answers 202 with the mirror task");
        labs.MapDelete("/{lab}/mirrors/{name}", RemoveMirrorAsync).WithName("RemoveMirror")
            .WithSummary("Remove a mirror interface: answers 202 with the mirror task");
    }

    private static async Task<Results<Ok<IReadOnlyList<LabMirrorDto>>, ProblemHttpResult>> ListMirrorsAsync(
        [For(Operation.Read)] Authorized<Lab> authorized, LtbDbContext db, IAgentDirectory agents, LabStatusCache statuses, CancellationToken ct) =>
        TypedResults.Ok((await SnapshotAsync(authorized.Value, db, agents, statuses, ct)).Mirrors);

    private static async Task<Results<Accepted<LabTaskAccepted>, ProblemHttpResult, ValidationProblem>> CreateMirrorAsync(
        CreateMirrorRequest body, [For(Operation.Update)] Authorized<Lab> authorized, Caller caller, LtbDbContext db,
        IAgentDirectory agents, LabStatusCache statuses, ILabTaskQueue queue, AuditLog audit, CancellationToken ct)
    {
        var l = authorized.Value;
        if (string.IsNullOrEmpty(body.Node))
        {
            return Problems.Invalid("node", "names the node whose link end is mirrored");
        }
        if (body.Interface is null || !InterfaceName().IsMatch(body.Interface))
        {
            return Problems.Invalid("interface", "is an interface name of up to 15 letters, digits, '_', '.', '@', '-'");
        }
        var name = string.IsNullOrEmpty(body.Name) ? MirrorNames.Default(body.Node, body.Interface) : body.Name;
        if (!MirrorNames.IsValid(name))
        {
            return Problems.Invalid("name", "is a Linux interface name: 1-15 letters, digits, '_', '.', '-', starting with a letter or digit");
        }
        if (RunningNodeProblem(l, body.Node) is { } problem)
        {
            return problem;
        }
        var snapshot = await SnapshotAsync(l, db, agents, statuses, ct);
        if (snapshot.Mirrors.FirstOrDefault(m => m.Name == name) is { } taken)
        {
            return Problems.Conflict($"lab '{l.Name}' has a mirror interface named '{name}' already (of {taken.Node}:{taken.Interface}); choose another name");
        }
        var input = new MirrorInterfaceInput(body.Node, body.Interface, name);
        return await QueueMirrorTaskAsync(l, input, $"mirror interface '{name}' of {body.Node}:{body.Interface} requested by {caller.UserName}",
            caller, db, queue, audit, ct);
    }

    private static async Task<Results<Accepted<LabTaskAccepted>, ProblemHttpResult, ValidationProblem>> RemoveMirrorAsync(string name,
        [For(Operation.Update)] Authorized<Lab> authorized, Caller caller, LtbDbContext db, IAgentDirectory agents,
        LabStatusCache statuses, ILabTaskQueue queue, AuditLog audit, CancellationToken ct)
    {
        var l = authorized.Value;
        if (RunningNodeProblem(l, null) is { } problem)
        {
            return problem;
        }
        var mirror = (await SnapshotAsync(l, db, agents, statuses, ct)).Mirrors.FirstOrDefault(m => m.Name == name);
        if (mirror is null)
        {
            return Problems.NotFound($"mirror interface '{name}' in lab '{l.Name}'");
        }
        var input = new MirrorInterfaceInput(mirror.Node, mirror.Interface, name, Remove: true);
        return await QueueMirrorTaskAsync(l, input, $"removal of mirror interface '{name}' requested by {caller.UserName}",
            caller, db, queue, audit, ct);
    }

    /// <summary>Mirrors exist on running labs only; a node, when named, must be one of the lab's.</summary>
    private static ProblemHttpResult? RunningNodeProblem(Lab l, string? node) =>
        l.State != LabLifecycle.Running ? Problems.Conflict($"lab '{l.Name}' is {LabViews.State(l.State)}, not running")
        : node is not null && !LabViews.Kinds(l).ContainsKey(node) ? Problems.NotFound($"node '{node}' in lab '{l.Name}'")
        : null;

    private static async Task<Results<Accepted<LabTaskAccepted>, ProblemHttpResult, ValidationProblem>> QueueMirrorTaskAsync(Lab l,
        MirrorInterfaceInput input, string message, Caller caller, LtbDbContext db, ILabTaskQueue queue, AuditLog audit, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var task = LabReconciler.NewTask(l, LabTaskKind.Mirror, LabTaskInput.Write(input), now);
        db.LabTasks.Add(task);
        db.LabEvents.Add(new LabEvent { LabId = l.Id, At = now, Level = LabEventLevel.Info, Node = input.Node, Message = message });
        audit.Record(input.Remove ? "lab.mirror-remove" : "lab.mirror", What, l.Id, $"{l.Name}: {input.Name} ({input.Node}:{input.Interface})");
        await db.SaveChangesAsync(ct);
        queue.Enqueue(l.HostId, task.Id);
        return TypedResults.Accepted($"/api/v1/tasks/{task.Id}",
            new LabTaskAccepted(LabViews.ToDto(l, caller.UserName, LabViews.Stored(l), await LabViews.HostsAsync(db, ct)), LabViews.ToDto(task)));
    }
}
