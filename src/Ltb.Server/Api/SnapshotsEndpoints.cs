using Ltb.Runtime.Plan;
using Ltb.Runtime.Planning;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Catalog;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Ltb.Server.Labs.Tasks;
using Ltb.Server.Snapshots;
using Ltb.Topology.Catalog;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>
/// Snapshots of labs (issue #15, docs/api.md "Snapshots"): <c>POST /labs/{lab}/snapshots</c> queues a snapshot task on
/// the lab's host (an operation on the lab: its owner, an admin); <c>GET /labs/{lab}/snapshots</c> and
/// <c>GET /snapshots</c> list them; <c>GET</c>/<c>DELETE /snapshots/{snapshot}</c> read and delete one (the snapshot
/// outlives its lab). Restoring is a deployment: <c>POST /labs</c> with the form field <c>snapshot</c>. Access:
/// <see cref="SnapshotAuthorizer"/>; each user's snapshots count toward <see cref="LtbServerOptions.SnapshotQuotaBytes"/>.
/// </summary>
public static partial class SnapshotsEndpoints
{
    private const string What = "snapshot";

    public static RouteGroupBuilder MapSnapshotsEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/labs/{lab}/snapshots", CreateAsync).WithName("CreateSnapshot").WithTags("Snapshots")
            .WithSummary("Take a snapshot of a running lab (save-config, then each node's changes, the lab's files and status): answers 202 with the snapshot and its task");
        api.MapGet("/labs/{lab}/snapshots", ListOfLabAsync).WithName("ListLabSnapshots").WithTags("Snapshots")
            .WithSummary("The snapshots of a lab the caller may read");
        api.MapGet("/snapshots", ListAsync).WithName("ListSnapshots").WithTags("Snapshots")
            .WithSummary("The snapshots the caller may read (theirs, their groups' labs', all for admins)");
        api.MapGet("/snapshots/usage", UsageAsync).WithName("GetSnapshotQuota").WithTags("Snapshots")
            .WithSummary("What the caller's snapshots take in the snapshot store, and their quota");
        api.MapGet("/snapshots/{snapshot}", GetAsync).WithName("GetSnapshot").WithTags("Snapshots").WithSummary("A snapshot");
        api.MapDelete("/snapshots/{snapshot}", DeleteAsync).WithName("DeleteSnapshot").WithTags("Snapshots")
            .WithSummary("Delete a snapshot (its owner, an admin): frees its space");
        MapArchiveEndpoints(api);
        return api;
    }

    private static async Task<Results<Accepted<SnapshotAccepted>, ProblemHttpResult, ValidationProblem>> CreateAsync(CreateSnapshotRequest body,
        [For(Operation.Update)] Authorized<Lab> authorized, Caller caller, LtbDbContext db, SnapshotRequests requests, ILabTaskQueue queue,
        AuditLog audit, CancellationToken ct)
    {
        var lab = authorized.Value;
        if (body.Name is not { } name || !LabNames.Valid().IsMatch(name))
        {
            return Problems.Invalid("name", $"names the snapshot: {LabNames.Rule}");
        }
        var (requested, conflict) = await requests.AddAsync(lab, name, caller.UserId, caller.UserName, DateTimeOffset.UtcNow, ct, body.Memory);
        if (requested is not { Snapshot: var snapshot, Task: var task })
        {
            return Problems.Conflict(conflict!);
        }
        audit.Record("lab.snapshot", What, snapshot.Id, $"{lab.Name}: {name}{(body.Memory ? " (with memory)" : "")}");
        await db.SaveChangesAsync(ct);
        queue.Enqueue(lab.HostId, task.Id);
        return TypedResults.Accepted($"/api/v1/tasks/{task.Id}", new SnapshotAccepted(ToDto(snapshot, caller.UserName), LabViews.ToDto(task)));
    }

    private static async Task<Results<Ok<Paged<SnapshotDto>>, ProblemHttpResult>> ListOfLabAsync([For(Operation.Read)] Authorized<Lab> authorized,
        Caller caller, LtbDbContext db, IResourceAuthorizer<StoredSnapshot> authz, [AsParameters] PageQuery paging, CancellationToken ct) =>
        TypedResults.Ok(await PageAsync(authz.Visible(db.Snapshots, caller).Where(s => s.LabId == authorized.Value.Id), paging, ct));

    private static async Task<Ok<Paged<SnapshotDto>>> ListAsync(Caller caller, LtbDbContext db, IResourceAuthorizer<StoredSnapshot> authz,
        [AsParameters] PageQuery paging, CancellationToken ct) =>
        TypedResults.Ok(await PageAsync(authz.Visible(db.Snapshots, caller), paging, ct));

    private static Task<Paged<SnapshotDto>> PageAsync(IQueryable<StoredSnapshot> query, PageQuery paging, CancellationToken ct) =>
        query.Include(s => s.Owner).OrderBy(s => s.LabName).ThenBy(s => s.Name).ThenBy(s => s.Id)
            .ToPageAsync(paging.Request, s => ToDto(s, s.Owner?.UserName ?? ""), ct);

    private static async Task<Ok<SnapshotQuotaDto>> UsageAsync(Caller caller, LtbDbContext db, LtbServerOptions options, CancellationToken ct)
    {
        var mine = db.Snapshots.Where(s => s.OwnerId == caller.UserId);
        return TypedResults.Ok(new SnapshotQuotaDto(await mine.SumAsync(s => s.SizeBytes, ct), options.SnapshotQuotaBytes, await mine.CountAsync(ct)));
    }

    private static Ok<SnapshotDto> GetAsync([For(Operation.Read)] Authorized<StoredSnapshot> authorized) =>
        TypedResults.Ok(ToDto(authorized.Value, authorized.Value.Owner?.UserName ?? ""));

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync([For(Operation.Delete)] Authorized<StoredSnapshot> authorized,
        LtbDbContext db, SnapshotStore store, AuditLog audit, CancellationToken ct)
    {
        var snapshot = authorized.Value;
        if (snapshot.State == SnapshotState.Creating)
        {
            return Problems.Conflict($"snapshot '{snapshot.Name}' is still being taken; delete it once its task has ended");
        }
        db.Snapshots.Remove(snapshot);
        audit.Record("snapshot.delete", What, snapshot.Id, $"{snapshot.LabName}: {snapshot.Name}");
        await db.SaveChangesAsync(ct);
        store.Delete(snapshot.Id);
        return TypedResults.NoContent();
    }

    public static SnapshotDto ToDto(StoredSnapshot s, string owner) => new(s.Id, s.Name, s.LabId, s.LabName, s.OwnerId, owner, s.GroupId,
        s.State.ToString().ToLowerInvariant(), s.SizeBytes, s.NodeCount, s.TaskId, s.CreatedAt);
}
