using System.Text.Json;
using Ltb.Agent.Remote;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Catalog;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Ltb.Server.Labs.Placement;
using Ltb.Server.Labs.Spanning;
using Ltb.Server.Labs.Tasks;
using Ltb.Server.Policy;
using Ltb.Server.Snapshots;
using Ltb.Server.Templates;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>POST /api/v1/labs: a topology (or a template version) becomes a lab and its DeploymentTask.</summary>
public static partial class LabsEndpoints
{
    // ------------------------------------------------------------------ deploy

    [Requires<Lab>(Operation.Create)]
    private static async Task<Results<Accepted<LabTaskAccepted>, ProblemHttpResult, ValidationProblem>> DeployAsync(
        HttpRequest request, Caller caller, LtbDbContext db, ILabTaskQueue queue, LtbServerOptions options, AuditLog audit,
        NodeTypeStore nodeTypes, IResourceAuthorizer<LabTemplate> templates, IResourceAuthorizer<LabHost> hostAuthz,
        PolicyStore policies, TimeProvider clock, SnapshotSource snapshots, CancellationToken ct)
    {
        if (!request.HasFormContentType)
        {
            return Problems.Invalid("topology", "send the topology as multipart/form-data (a 'topology' file, its files as 'files')");
        }
        var form = await request.ReadFormAsync(ct);
        var topology = form.Files.GetFile("topology");
        var reconfigure = form["reconfigure"] is [var r] && bool.TryParse(r, out var rb) && rb;
        // A lab deployed from a snapshot that replaces the running lab of the same name (removed, then deployed again).
        var reset = form["reset"] is [var rs] && bool.TryParse(rs, out var rsb) && rsb;
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

        // The files land in a fresh deployment folder of a new lab id; an existing lab (reconfigure, redeploy) takes the
        // folder over below. The id names the lab (if new) and the deployment.
        var newId = Guid.NewGuid();
        var staging = LabFolders.Deployment(options.DataDirectory, newId, newId);
        void Discard() => FileTree.Delete(LabFolders.Lab(options.DataDirectory, newId));
        string fileName;
        string source;
        LabTemplateVersion? fromTemplate = null;
        var prepared = false; // the files may carry nodes' saved states (a snapshot, or a template published from one)
        if (form["snapshot"].ToString() is { Length: > 0 } snapshotRef)
        {
            // A snapshot: its files and nodes' saved states, written out as if uploaded. Reading it is enough.
            var (snapshot, written, refused) = await snapshots.WriteForDeploymentAsync(snapshotRef, caller, staging, ct);
            if (refused is not null)
            {
                Discard();
                return refused;
            }
            fileName = written!;
            source = $"snapshot '{snapshot!.Name}' of lab {snapshot.LabName}";
            prepared = true;
        }
        else if (form["template"].ToString() is { Length: > 0 } templateRef)
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
            prepared = true;
        }
        else if (topology is null)
        {
            return Problems.Invalid("topology", "a 'topology' file (or a 'template' id) is required");
        }
        else if (await LabSources.StoreAsync(staging, topology, form.Files.GetFiles("files"), ct) is { } stored)
        {
            Discard();
            return Problems.Invalid("files", stored);
        }
        else
        {
            fileName = topology.FileName;
            source = fileName;
        }
        // What the upload holds, recorded before any node can write there (a reconfigure compares with it, not the folder).
        LabFolders.WriteManifest(options.DataDirectory, newId, newId);
        // Loaded once, in the staging folder, with the effective catalog (admins' node types, retirements) and the
        // DEPLOYER's rights (a student deploying an admin's template is a student): a refusal is a positioned 422.
        var catalog = await nodeTypes.CatalogAsync(ct);
        var loadOptions = await policies.LoadOptionsAsync(caller, catalog, hostAuthz, ct);
        var loaded = LabSources.LoadTopology(staging, fileName, loadOptions);
        if (loaded.Lab is null)
        {
            Discard();
            return TopologyProblems.Unprocessable(loaded.Diagnostics, "topology");
        }
        var name = form["name"].ToString() is { Length: > 0 } n ? n : loaded.Lab.Name;
        if (!LabNames.Valid().IsMatch(name))
        {
            Discard();
            return Problems.Invalid("name", $"'{name}' is not a valid lab name ({LabNames.Rule}); choose one with --name");
        }

        var lab = await db.Labs.FirstOrDefaultAsync(l => l.OwnerId == caller.UserId && l.Name == name, ct);
        var apply = false;
        // A failed lab (a failed or interrupted deployment) is redeployed: removed first, then deployed, in one go.
        var redeploy = (lab is { State: LabLifecycle.Failed } && !reconfigure) || (lab is { State: LabLifecycle.Running } && reset && prepared);
        if (lab is not null && lab.State != LabLifecycle.Removed && !redeploy)
        {
            if (!reconfigure || lab.State != LabLifecycle.Running)
            {
                Discard();
                return Problems.Conflict(reconfigure
                    ? $"lab '{name}' is {LabViews.State(lab.State)}; only a running lab can be reconfigured: destroy it and deploy again"
                    : $"lab '{name}' exists already ({LabViews.State(lab.State)}); destroy it (ltb lab destroy {name}), deploy with --reconfigure, or choose another name (--name)");
            }
            apply = true;
        }
        var runtimeName = lab?.RuntimeName ?? LabNames.Runtime(name, newId);
        var planned = LabSources.Plan(loaded, runtimeName, caller.IsAdmin, backend, loadOptions.Policy);
        if (planned.Errors.Count > 0 || planned.Plan is null)
        {
            Discard();
            return Problems.Invalid(new Dictionary<string, string[]> { ["topology"] = [.. planned.Errors] });
        }
        var plan = prepared ? SnapshotStore.AttachRestore(planned.Plan, staging) : planned.Plan;
        // Pins first: their refusals point at the node in the topology.
        var (notPinned, invalidPin) = await NodePins.CheckAsync(db, hostAuthz, caller, loaded.Lab.Nodes, lab, ct);
        if (notPinned is not null || invalidPin is not null)
        {
            Discard();
            return notPinned is not null ? notPinned : invalidPin!;
        }
        // Held until the lab and its task are saved: a concurrent deployment sees this lab's demand (Labs/Placement).
        await using var placementLock = await PlacementLock.AcquireAsync(db, ct);
        var demand = LabDemand.Of(plan, loaded.Kinds, catalog);
        // Under the lock: two deployments at once cannot both take a quota's last lab (Policy/LabQuotas).
        if (await LabQuotas.RefuseAsync(db, await policies.CurrentAsync(ct), caller, new QuotaRequest(lab, loaded.Kinds.Count, demand.Total), ct)
            is { } overQuota)
        {
            Discard();
            return overQuota;
        }
        // An ad-hoc lab of a role with a lifetime must fit beside the reservations ahead until it expires (Reservations/).
        var now = clock.GetUtcNow();
        var lifetime = apply ? null : Reservations.LabExpiry.Lifetime(await policies.CurrentAsync(ct), caller.Roles, caller.IsAdmin);
        var expires = lifetime is { } life ? now + life : (DateTimeOffset?)null;
        var (placement, notPlaced, invalidHost) = await LabPlacement.ChooseAsync(db, hostAuthz, caller, form["host"].ToString(), lab, demand, now,
            expires, ct);
        if (placement is null)
        {
            Discard();
            return notPlaced is not null ? notPlaced : invalidHost!;
        }
        var host = placement.Host;
        if (lab is null)
        {
            lab = new Lab { Id = newId, Name = name, RuntimeName = runtimeName, OwnerId = caller.UserId, HostId = host.Id, CreatedAt = now };
            db.Labs.Add(lab);
        }
        lab.HostId = host.Id; // a removed lab deployed again may land on another host
        lab.LayoutJson = placement.Layout?.ToJson();
        lab.PlacementReason = placement.Reason;
        await HostInventory.RecordAsync(db, lab.Id, demand, host.Id, placement.Layout, ct);
        await LabTunnelAllocator.AssignAsync(db, lab, plan, placement.Layout, ct);
        if (lab.Id != newId)
        {
            // A fresh folder of the lab's own, never one written before (a node may have left links in those); nodes
            // that run unchanged keep the folder they mount, so the host keeps them running.
            plan = LabSources.Relocate(plan, staging, LabFolders.Adopt(options.DataDirectory, newId, lab.Id, newId));
            var running = apply ? await RunningPlanAsync(db, lab.Id, ct) : null;
            if (running is not null)
            {
                plan = LabFolders.KeepUnchanged(options.DataDirectory, lab.Id, running, plan, newId);
            }
            await PruneFoldersAsync(db, options.DataDirectory, lab.Id, [.. LabFolders.Folders(plan, options.DataDirectory, lab.Id),
                .. running is null ? new HashSet<string>() : LabFolders.Folders(running, options.DataDirectory, lab.Id), newId.ToString("N")], ct);
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
        lab.NodeGroupsJson = JsonSerializer.Serialize(loaded.Groups, LabTaskRunner.Json);
        lab.UpdatedAt = now;
        if (!apply)
        {
            (lab.ExpiresAt, lab.ExpiryWarnedAt, lab.ReservationId) = (expires, null, null);
        }
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
        var access = await templates.FindAsync(db, caller, templateRef, Operation.Read, ct);
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

    /// <summary>The plan the lab runs: its last deployment that succeeded.</summary>
    internal static async Task<Ltb.Runtime.Plan.LabPlan?> RunningPlanAsync(LtbDbContext db, Guid labId, CancellationToken ct)
    {
        // SQLite cannot order DateTimeOffset in SQL; the ids and times of a lab's deployments are few.
        var done = await db.LabTasks.AsNoTracking()
            .Where(t => t.LabId == labId && t.Kind == LabTaskKind.Deployment && t.State == LabTaskState.Succeeded)
            .Select(t => new { t.Id, t.CreatedAt }).ToListAsync(ct);
        if (done.OrderBy(t => t.CreatedAt).LastOrDefault() is not { } last)
        {
            return null;
        }
        var json = await db.LabTasks.AsNoTracking().Where(t => t.Id == last.Id).Select(t => t.InputJson).FirstAsync(ct);
        return JsonSerializer.Deserialize<DeploymentInput>(json, LabTaskRunner.Json)?.Plan;
    }

    /// <summary>
    /// Deletes the lab's deployment folders that no plan uses any more: not <paramref name="keep"/> (the new plan's and
    /// the running one's) nor those of deployments still waiting to run. Called while the placement lock serializes
    /// deployments, so no other request is adopting a folder meanwhile.
    /// </summary>
    private static async Task PruneFoldersAsync(LtbDbContext db, string dataDirectory, Guid labId, HashSet<string> keep, CancellationToken ct)
    {
        foreach (var json in await db.LabTasks.AsNoTracking()
            .Where(t => t.LabId == labId && t.Kind == LabTaskKind.Deployment && (t.State == LabTaskState.Queued || t.State == LabTaskState.Running))
            .Select(t => t.InputJson).ToListAsync(ct))
        {
            if (JsonSerializer.Deserialize<DeploymentInput>(json, LabTaskRunner.Json)?.Plan is { } waiting)
            {
                keep.UnionWith(LabFolders.Folders(waiting, dataDirectory, labId));
            }
        }
        LabFolders.Prune(dataDirectory, labId, keep);
    }
}
