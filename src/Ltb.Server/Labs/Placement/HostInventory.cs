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
    public static async Task<Dictionary<Guid, CpuMemory>> AllocatedAsync(LtbDbContext db, CancellationToken ct)
    {
        var labs = await db.Labs.AsNoTracking().Where(l => l.State != LabLifecycle.Removed)
            .Select(l => new { l.Id, l.HostId, l.LayoutJson }).ToListAsync(ct);
        var ids = labs.Select(l => l.Id).ToList();
        // The newest deployment of each lab first by id and time only; then the plans of those alone.
        var latest = (await db.LabTasks.AsNoTracking().Where(t => t.Kind == LabTaskKind.Deployment && ids.Contains(t.LabId))
                .Select(t => new { t.Id, t.LabId, t.CreatedAt }).ToListAsync(ct))
            .GroupBy(t => t.LabId).Select(g => g.MaxBy(t => t.CreatedAt)!.Id).ToList();
        var inputs = await db.LabTasks.AsNoTracking().Where(t => latest.Contains(t.Id))
            .Select(t => new { t.LabId, t.InputJson }).ToDictionaryAsync(t => t.LabId, t => t.InputJson, ct);

        var allocated = new Dictionary<Guid, CpuMemory>();
        foreach (var lab in labs)
        {
            if (!inputs.TryGetValue(lab.Id, out var json) || PlanOf(json) is not { } plan)
            {
                continue;
            }
            var layout = LabLayout.Parse(lab.LayoutJson);
            foreach (var node in LabDemand.Of(plan, new Dictionary<string, string>()).Nodes)
            {
                var host = layout?.NodeHosts.GetValueOrDefault(node.Name) is { } h && h != Guid.Empty ? h : lab.HostId;
                allocated[host] = allocated.GetValueOrDefault(host) + node.Demand;
            }
        }
        return allocated;
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
