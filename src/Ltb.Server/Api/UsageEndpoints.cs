using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Labs;
using Ltb.Server.Labs.Placement;
using Ltb.Server.Usage;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>
/// Resource usage (docs/api.md "Resource usage"): live figures from the hosts' last samples (<see cref="UsageBoard"/>, a
/// few seconds old at most). A lab's usage is read by whoever reads the lab; a host's (every lab on it) by administrators.
/// </summary>
public static class UsageEndpoints
{
    public static RouteGroupBuilder MapUsageEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/labs/{lab}/usage", LabAsync).WithName("GetLabUsage").WithTags("Labs")
            .WithSummary("A lab's resource use, live (its hosts' last samples): per node CPU, memory, disk, per interface bytes, packets, errors, drops; and the sums");
        api.MapGet("/hosts/{id:guid}/usage", HostAsync).WithName("GetHostUsage").WithTags("Hosts")
            .WithSummary("A host's resource use, live (admin): CPU, memory, disk, labs and nodes, placement's free capacity, each lab's sums");
        return api;
    }

    private static async Task<Results<Ok<LabUsageDto>, ProblemHttpResult>> LabAsync([For(Operation.Read)] Authorized<Lab> authorized, LtbDbContext db,
        UsageBoard board, CancellationToken ct)
    {
        var l = authorized.Value;
        var layout = LabLayout.Parse(l.LayoutJson);
        var hostIds = layout?.Hosts ?? [l.HostId];
        var names = await db.LabHosts.AsNoTracking().Where(h => hostIds.Contains(h.Id)).ToDictionaryAsync(h => h.Id, h => h.Name, ct);
        var nodes = board.Lab(l.RuntimeName, hostIds);
        return TypedResults.Ok(new LabUsageDto(l.Id, l.Name, LabViews.State(l.State),
            nodes.Select(n => UsageViews.ToDto(n.Node, names.GetValueOrDefault(n.Host, ""), n.At)).OrderBy(n => n.Node, StringComparer.Ordinal).ToList(),
            UsageViews.Totals(nodes.Select(n => n.Node).ToList())));
    }

    private static async Task<Results<Ok<HostUsageDto>, ProblemHttpResult>> HostAsync([For(Operation.ReadUsage)] Authorized<LabHost> host,
        LtbDbContext db, UsageBoard board, CancellationToken ct)
    {
        var h = host.Value;
        var sample = board.Host(h.Id);
        // The host's labs by runtime name: a lab spanning hosts is listed on each with its nodes there.
        var held = (sample?.Labs ?? []).Select(l => l.Lab).ToList();
        var labs = await db.Labs.AsNoTracking().Include(l => l.Owner).Where(l => held.Contains(l.RuntimeName) && l.State != LabLifecycle.Removed)
            .ToListAsync(ct);
        var byRuntime = labs.ToDictionary(l => l.RuntimeName, StringComparer.Ordinal);
        var summaries = (sample?.Labs ?? []).Where(u => byRuntime.ContainsKey(u.Lab))
            .Select(u => (Lab: byRuntime[u.Lab], Usage: u))
            .Select(x => new LabUsageSummaryDto(x.Lab.Id, x.Lab.Name, x.Lab.Owner?.UserName ?? "", UsageViews.Totals(x.Usage.Nodes)))
            .OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
        var nodes = (sample?.Labs ?? []).SelectMany(l => l.Nodes).ToList();
        var capacity = HostOffer.EffectiveCapacity(h);
        var allocated = (await HostInventory.AllocatedAsync(db, ct)).GetValueOrDefault(h.Id);
        var free = capacity - allocated;
        return TypedResults.Ok(new HostUsageDto(h.Id, h.Name, h.State.ToString().ToLowerInvariant(), sample?.At, sample?.Cpus ?? 0,
            sample?.CpuPercent ?? 0, sample?.MemoryTotalBytes ?? 0, sample?.MemoryUsedBytes ?? 0, sample?.DiskTotalBytes ?? 0,
            sample?.DiskUsedBytes ?? 0, sample?.Labs.Count ?? 0, nodes.Count,
            new HostResourcesDto(capacity.Cpus, capacity.MemoryBytes), new HostResourcesDto(Math.Round(free.Cpus, 3), free.MemoryBytes),
            UsageViews.Totals(nodes), summaries));
    }
}
