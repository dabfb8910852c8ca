using System.Text.Json;
using Ltb.Runtime.Plan;
using Ltb.Server.Data;
using Ltb.Server.Labs.Tasks;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Labs.Placement;

/// <summary>
/// What the labs placed on each host demand: every lab that is not removed (pending, deploying, running, failed — a
/// failed lab may still hold containers — and destroying), per node on the host its layout gives (a lab that spans hosts
/// counts on each host for the nodes it runs there). Kept as <see cref="LabHostShare"/> rows, written with each
/// deployment request (<see cref="RecordAsync"/>).
/// </summary>
public static class HostInventory
{
    /// <summary>Per host, what the labs on it demand; <paramref name="except"/>: leave one lab out (it is being reconfigured).</summary>
    public static async Task<Dictionary<Guid, CpuMemory>> AllocatedAsync(LtbDbContext db, CancellationToken ct, Guid? except = null) =>
        (await (from s in db.LabHostShares
                join l in db.Labs on s.LabId equals l.Id
                where l.State != LabLifecycle.Removed && l.Id != except
                group s by s.HostId into g
                select new { Host = g.Key, Cpus = g.Sum(s => s.Cpus), Memory = g.Sum(s => s.MemoryBytes) })
            .ToListAsync(ct))
        .ToDictionary(g => g.Host, g => new CpuMemory(g.Cpus, g.Memory));

    /// <summary>Per host, what one lab demands as its latest deployment request placed it.</summary>
    public static async Task<Dictionary<Guid, CpuMemory>> OfLabAsync(LtbDbContext db, Guid lab, CancellationToken ct) =>
        await db.LabHostShares.AsNoTracking().Where(s => s.LabId == lab)
            .ToDictionaryAsync(s => s.HostId, s => new CpuMemory(s.Cpus, s.MemoryBytes), ct);

    /// <summary>Per host, what a lab's nodes demand there when it runs on <paramref name="labHost"/> with <paramref name="layout"/>.</summary>
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

    /// <summary>Replaces the lab's rows with what <paramref name="demand"/> asks of each host (saved with the store).</summary>
    public static async Task RecordAsync(LtbDbContext db, Guid lab, LabDemand demand, Guid labHost, LabLayout? layout, CancellationToken ct)
    {
        var perHost = PerHost(demand, labHost, layout);
        var rows = await db.LabHostShares.Where(s => s.LabId == lab).ToListAsync(ct);
        db.LabHostShares.RemoveRange(rows.Where(r => !perHost.ContainsKey(r.HostId)));
        foreach (var (host, sum) in perHost)
        {
            var row = rows.FirstOrDefault(r => r.HostId == host);
            if (row is null)
            {
                row = new LabHostShare { LabId = lab, HostId = host };
                db.LabHostShares.Add(row);
            }
            (row.Cpus, row.MemoryBytes) = (sum.Cpus, sum.MemoryBytes);
        }
    }

    /// <summary>
    /// Labs stored before demands were recorded (an upgrade) get their rows from the plan of their latest deployment.
    /// Run at start-up; a no-op once every lab has its rows.
    /// </summary>
    public static async Task BackfillAsync(LtbDbContext db, CancellationToken ct)
    {
        var labs = await db.Labs.Where(l => l.State != LabLifecycle.Removed && !db.LabHostShares.Any(s => s.LabId == l.Id))
            .Select(l => new { l.Id, l.HostId, l.LayoutJson }).ToListAsync(ct);
        foreach (var lab in labs)
        {
            var input = await db.LabTasks.AsNoTracking().Where(t => t.LabId == lab.Id && t.Kind == LabTaskKind.Deployment)
                .OrderByDescending(t => t.CreatedAt).Select(t => t.InputJson).FirstOrDefaultAsync(ct);
            if (input is not null && PlanOf(input) is { } plan)
            {
                await RecordAsync(db, lab.Id, LabDemand.Of(plan, new Dictionary<string, string>()), lab.HostId, LabLayout.Parse(lab.LayoutJson), ct);
            }
        }
        await db.SaveChangesAsync(ct);
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
