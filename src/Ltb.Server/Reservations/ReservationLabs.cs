using System.Text.Json;
using Ltb.Agent.Remote;
using Ltb.Runtime.Plan;
using Ltb.Server.Auth;
using Ltb.Server.Catalog;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Ltb.Server.Labs.Placement;
using Ltb.Server.Labs.Tasks;
using Ltb.Server.Policy;
using Ltb.Server.Templates;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Reservations;

/// <summary>
/// The lab of one planned recipient of a reservation, created as `POST /labs` with a template creates one (the version
/// written into the lab's first deployment folder, loaded with the effective catalog and the lab owner's rights, planned,
/// its demand recorded on the planned host, a deployment task) but on the host the reservation's plan chose: admission
/// already counted it. Who owns it: the member (audience members, the lab shared with the group), else the
/// reservation's owner (shared with the team for audience teams). The caller saves and enqueues the task.
/// </summary>
public sealed class ReservationLabs(LtbDbContext db, NodeTypeStore nodeTypes, PolicyStore policies, IResourceAuthorizer<LabHost> hostAuthz,
    LtbServerOptions options)
{
    public async Task<(Lab? Lab, LabTask? Task, string? Error)> CreateAsync(Reservation r, PlannedLab planned, DateTimeOffset now, CancellationToken ct)
    {
        var ownerId = r.Audience == ReservationAudience.Members ? planned.RecipientId : r.OwnerId;
        if (await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == ownerId, ct) is not { } owner)
        {
            return (null, null, $"user '{planned.Recipient}' no longer exists");
        }
        var version = await db.LabTemplateVersions.AsNoTracking().FirstOrDefaultAsync(v => v.TemplateId == r.TemplateId && v.Number == r.TemplateVersion, ct);
        if (version is null)
        {
            return (null, null, $"version {r.TemplateVersion} of the template no longer exists");
        }
        var caller = await Caller.LoadAsync(db, owner, Guid.Empty, ct);
        var id = Guid.NewGuid();
        var staging = LabFolders.Deployment(options.DataDirectory, id, id);
        void Discard() => FileTree.Delete(LabFolders.Lab(options.DataDirectory, id));
        var fileName = await TemplateStore.WriteAsync(db, version, staging, ct);
        LabFolders.WriteManifest(options.DataDirectory, id, id);
        var catalog = await nodeTypes.CatalogAsync(ct);
        var loadOptions = await policies.LoadOptionsAsync(caller, catalog, hostAuthz, ct);
        var loaded = LabSources.LoadTopology(staging, fileName, loadOptions);
        if (loaded.Lab is null)
        {
            Discard();
            return (null, null, string.Join("; ", loaded.Result.Diagnostics.Where(d => d.IsError).Take(5)));
        }
        var name = await FreeNameAsync(ownerId, r, planned, ct);
        var runtimeName = LabNames.Runtime(name, id);
        var source = LabSources.Plan(loaded, runtimeName, caller.IsAdmin, LinkBackend.Veth, loadOptions.Policy);
        if (source.Plan is not { } plan || source.Errors.Count > 0)
        {
            Discard();
            return (null, null, string.Join("; ", source.Errors.Take(5)));
        }
        var lab = new Lab
        {
            Id = id, Name = name, RuntimeName = runtimeName, OwnerId = ownerId, HostId = planned.HostId, CreatedAt = now, UpdatedAt = now,
            GroupId = r.Audience switch { ReservationAudience.Members => r.GroupId, ReservationAudience.Teams => planned.RecipientId, _ => null },
            ReservationId = r.Id, State = LabLifecycle.Pending, SourceFormat = loaded.Format, SourceText = loaded.Text, SourceFileName = fileName,
            TemplateId = r.TemplateId, TemplateVersion = r.TemplateVersion,
            NodeKindsJson = JsonSerializer.Serialize(loaded.Kinds, LabTaskRunner.Json),
            NodeGroupsJson = JsonSerializer.Serialize(loaded.Groups, LabTaskRunner.Json),
            PlacementReason = $"reservation '{r.Name}' planned it on this host when it was booked",
        };
        db.Labs.Add(lab);
        await HostInventory.RecordAsync(db, id, LabDemand.Of(plan, loaded.Kinds, catalog), planned.HostId, null, ct);
        var input = new DeploymentInput(plan, new AgentDeployOptions(Rollback: false), false);
        var task = LabReconciler.NewTask(lab, LabTaskKind.Deployment, JsonSerializer.Serialize(input, LabTaskRunner.Json), now);
        db.LabTasks.Add(task);
        db.LabEvents.Add(new LabEvent { LabId = id, At = now, Level = LabEventLevel.Info,
            Message = $"deployment of template version {r.TemplateVersion} for reservation '{r.Name}' ({Shortage.Instant(r.StartsAt)} to " +
                $"{Shortage.Instant(r.EndsAt)}), for {planned.Recipient}" });
        return (lab, task, null);
    }

    /// <summary>The reservation's name, else with a suffix from its id (a user's lab names are unique, removed labs' too).</summary>
    private async Task<string> FreeNameAsync(Guid ownerId, Reservation r, PlannedLab planned, CancellationToken ct)
    {
        var suffix = r.Audience == ReservationAudience.Teams ? "-" + planned.RecipientId.ToString("N")[..4] : "";
        var tag = r.Id.ToString("N");
        for (var i = 0; ; i++)
        {
            var extra = suffix + (i == 0 ? "" : $"-{tag[..Math.Min(4 + i, tag.Length)]}");
            var name = r.Name[..Math.Min(r.Name.Length, 40 - extra.Length)] + extra;
            if (!await db.Labs.AnyAsync(l => l.OwnerId == ownerId && l.Name == name, ct) && !db.Labs.Local.Any(l => l.OwnerId == ownerId && l.Name == name))
            {
                return name;
            }
        }
    }
}
