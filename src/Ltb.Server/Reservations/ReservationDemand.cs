using Ltb.Runtime.Plan;
using Ltb.Server.Auth;
using Ltb.Server.Catalog;
using Ltb.Server.Data;
using Ltb.Server.Labs;
using Ltb.Server.Labs.Placement;
using Ltb.Server.Policy;
using Ltb.Server.Templates;

namespace Ltb.Server.Reservations;

/// <summary>What one lab of a template version demands, or why the version cannot be deployed.</summary>
public sealed record TemplateDemand(CpuMemory PerLab, IReadOnlyList<string> Kinds, IReadOnlyList<string> Errors);

/// <summary>
/// A template version's demand exactly as a deployment counts it: the version written to a scratch folder, loaded with
/// the effective catalog and the rights of whoever its labs will run for, planned, and <see cref="LabDemand.Of"/> taken
/// from the plan (the node's cpu/memory, else its node type's, else the policy's node defaults). The folder is deleted.
/// </summary>
public sealed class ReservationDemand(LtbDbContext db, NodeTypeStore nodeTypes, PolicyStore policies, IResourceAuthorizer<LabHost> hosts,
    Hosting.LtbServerOptions options)
{
    public async Task<TemplateDemand> OfAsync(LabTemplateVersion version, Caller runsAs, CancellationToken ct)
    {
        var scratch = TemplateStore.StagingDirectory(options.DataDirectory);
        try
        {
            var fileName = await TemplateStore.WriteAsync(db, version, scratch, ct);
            var catalog = await nodeTypes.CatalogAsync(ct);
            var loadOptions = await policies.LoadOptionsAsync(runsAs, catalog, hosts, ct);
            var loaded = LabSources.LoadTopology(scratch, fileName, loadOptions);
            if (loaded.Lab is null)
            {
                return new TemplateDemand(CpuMemory.Zero, [], [.. loaded.Result.Diagnostics.Where(d => d.IsError).Select(d => d.ToString())]);
            }
            var planned = LabSources.Plan(loaded, "demand", runsAs.IsAdmin, LinkBackend.Veth, loadOptions.Policy);
            if (planned.Plan is null || planned.Errors.Count > 0)
            {
                return new TemplateDemand(CpuMemory.Zero, [], planned.Errors);
            }
            var demand = LabDemand.Of(planned.Plan, loaded.Kinds, catalog);
            if (demand.Nodes.Any(n => n.PinnedHost is not null))
            {
                return new TemplateDemand(CpuMemory.Zero, [], [$"template version {version.Number} pins nodes to hosts ({LabDemand.HostLabel}); a reservation places its labs itself"]);
            }
            return new TemplateDemand(demand.Total, demand.Nodes.Select(n => n.Kind).Distinct().Order(StringComparer.Ordinal).ToList(), []);
        }
        finally
        {
            TemplateStore.DeleteFolder(scratch);
        }
    }
}
