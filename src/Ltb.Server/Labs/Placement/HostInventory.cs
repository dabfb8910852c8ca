using System.Text.Json;
using Ltb.Runtime.Plan;
using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Labs.Placement;

/// <summary>
/// What the labs already placed on each host demand: every lab that is not removed (pending, deploying, running, failed —
/// a failed lab may still hold containers — and destroying), from the plan of its latest deployment task, per node on the
/// host its layout gives (a lab that spans hosts counts on each host for the nodes it runs there).
/// </summary>
public static class HostInventory
{
    /// <summary>Per host, what the labs on it demand; <paramref name="except"/>: leave one lab out (it is being reconfigured).</summary>
    public static async Task<Dictionary<Guid, CpuMemory>> AllocatedAsync(LtbDbContext db, CancellationToken ct, Guid? except = null)
    {
        var allocated = new Dictionary<Guid, CpuMemory>();
        foreach (var (_, hosts) in (await ByLabAsync(db, ct)).Where(l => l.Key != except))
        {
            foreach (var (host, demand) in hosts)
            {
                allocated[host] = allocated.GetValueOrDefault(host) + demand;
            }
        }
        return allocated;
    }

    /// <summary>Per host, what one lab demands as its latest deployment placed it (empty for a removed lab).</summary>
    public static async Task<Dictionary<Guid, CpuMemory>> OfLabAsync(LtbDbContext db, Guid lab, CancellationToken ct) =>
        (await ByLabAsync(db, ct, lab)).GetValueOrDefault(lab) ?? [];

    /// <summary>Per host, what a lab's nodes demand there when it runs <paramref name="plan"/> with <paramref name="layout"/>.</summary>
    public static Dictionary<Guid, CpuMemory> PerHost(LabDemand demand, Guid labHost, LabLayout? layout)
    {
        var perHost = new Dictionary<Guid, CpuMemory>();
        foreach (var node in demand.Nodes)
        {
            var host = layout?.NodeHosts.GetValueOrDefault(node.Name) is { } h && h != Guid.Empty ? h : labHost;
            perHost[host] = perHost.GetValueOrDefault(host) + node.Demand;
        }
        return perHost;
    }

    private static async Task<Dictionary<Guid, Dictionary<Guid, CpuMemory>>> ByLabAsync(LtbDbContext db, CancellationToken ct, Guid? only = null)
    {
        var labs = await db.Labs.AsNoTracking().Where(l => l.State != LabLifecycle.Removed && (only == null || l.Id == only))
            .Select(l => new { l.Id, l.HostId, l.LayoutJson }).ToListAsync(ct);
        var ids = labs.Select(l => l.Id).ToList();
        // The newest deployment of each lab first by id and time only; then the plans of those alone.
        var latest = (await db.LabTasks.AsNoTracking().Where(t => t.Kind == LabTaskKind.Deployment && ids.Contains(t.LabId))
                .Select(t => new { t.Id, t.LabId, t.CreatedAt }).ToListAsync(ct))
            .GroupBy(t => t.LabId).Select(g => g.MaxBy(t => t.CreatedAt)!.Id).ToList();
        var inputs = await db.LabTasks.AsNoTracking().Where(t => latest.Contains(t.Id))
            .Select(t => new { t.LabId, t.InputJson }).ToDictionaryAsync(t => t.LabId, t => t.InputJson, ct);

        var byLab = new Dictionary<Guid, Dictionary<Guid, CpuMemory>>();
        foreach (var lab in labs)
        {
            if (inputs.TryGetValue(lab.Id, out var json) && PlanOf(json) is { } plan)
            {
                byLab[lab.Id] = PerHost(LabDemand.Of(plan, new Dictionary<string, string>()), lab.HostId, LabLayout.Parse(lab.LayoutJson));
            }
        }
        return byLab;
    }

    /// <summary>The plan of a deployment task's input; null for an input without one (nothing to count).</summary>
    private static LabPlan? PlanOf(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<DeploymentInput>(json, LabTaskRunner.Json)?.Plan is { Nodes: not null } plan ? plan : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
