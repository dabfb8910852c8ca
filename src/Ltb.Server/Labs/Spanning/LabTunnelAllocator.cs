using System.Security.Cryptography;
using Ltb.Runtime.Links.Types;
using Ltb.Runtime.Plan;
using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;

namespace Ltb.Server.Labs.Spanning;

/// <summary>
/// VNIs for the links of spanning labs. Each link between nodes on different hosts gets a VNI unique in the installation
/// (the <see cref="LabTunnel"/> key), so two tunnels never meet on one host, whichever labs share it. Chosen at random
/// when the deployment is requested; two requests that draw the same number conflict on the key and the later one draws
/// again. A lab keeps its VNIs while it exists (redeploy, reconfigure); they are freed when it is destroyed.
/// </summary>
public static class LabTunnelAllocator
{
    /// <summary>Below this, VNIs are left to tunnels written in topologies (containerlab examples use small ones).</summary>
    public const int FirstVni = 0x10000;
    private const int Attempts = 8;

    /// <summary>The links of <paramref name="plan"/> whose ends are on different hosts of <paramref name="layout"/>.</summary>
    public static IEnumerable<LinkPlan> CrossHostLinks(LabPlan plan, LabLayout? layout) => layout is not { Spans: true }
        ? []
        : plan.Links.Where(l => LinkTypes.Of(l).SpansHosts && l.B is not null
            && layout.NodeHosts.TryGetValue(l.A.Node, out var a) && layout.NodeHosts.TryGetValue(l.B.Node, out var b) && a != b);

    /// <summary>Adds the rows for cross-host links that have none yet and removes those of links that are gone (saved by <see cref="SaveAsync"/>).</summary>
    public static async Task AssignAsync(LtbDbContext db, Lab lab, LabPlan plan, LabLayout? layout, CancellationToken ct)
    {
        var needed = CrossHostLinks(plan, layout).Select(l => l.Key).ToHashSet(StringComparer.Ordinal);
        var current = await db.LabTunnels.Where(t => t.LabId == lab.Id).ToListAsync(ct);
        db.LabTunnels.RemoveRange(current.Where(t => !needed.Contains(t.LinkKey)));
        foreach (var key in needed.Except(current.Select(t => t.LinkKey)))
        {
            db.LabTunnels.Add(new LabTunnel { Vni = Draw(), LabId = lab.Id, LinkKey = key });
        }
    }

    /// <summary>
    /// Saves the store. A new VNI already taken is drawn again first; one taken meanwhile (the key conflicts on save)
    /// makes it draw the new ones again and save again.
    /// </summary>
    public static async Task SaveAsync(LtbDbContext db, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var added = db.ChangeTracker.Entries<LabTunnel>().Where(e => e.State == EntityState.Added).ToList();
            if (added.Count > 0) // most deployments span no hosts and draw nothing: no query for them
            {
                var drawn = added.Select(e => e.Entity.Vni).ToList();
                var clashing = (await db.LabTunnels.AsNoTracking().Where(t => drawn.Contains(t.Vni)).Select(t => t.Vni).ToListAsync(ct)).ToHashSet();
                clashing.UnionWith(drawn.GroupBy(v => v).Where(g => g.Count() > 1).Select(g => g.Key));
                Redraw(db, added.Where(e => clashing.Contains(e.Entity.Vni)));
            }
            try
            {
                await db.SaveChangesAsync(ct);
                return;
            }
            catch (DbUpdateException) when (attempt < Attempts && added.Count > 0)
            {
                Redraw(db, db.ChangeTracker.Entries<LabTunnel>().Where(e => e.State == EntityState.Added).ToList());
            }
        }
    }

    private static void Redraw(LtbDbContext db, IEnumerable<EntityEntry<LabTunnel>> rows)
    {
        foreach (var entry in rows.ToList())
        {
            var row = entry.Entity;
            entry.State = EntityState.Detached;
            db.LabTunnels.Add(new LabTunnel { Vni = Draw(), LabId = row.LabId, LinkKey = row.LinkKey });
        }
    }

    /// <summary>
    /// Frees the lab's VNIs once it is destroyed, unless a deployment of it is waiting (a redeployment removes the lab
    /// first and then deploys it again with the VNIs it was given).
    /// </summary>
    public static async Task FreeAsync(LtbDbContext db, Guid labId, CancellationToken ct)
    {
        if (await db.LabTasks.AnyAsync(t => t.LabId == labId && t.Kind == LabTaskKind.Deployment && t.State == LabTaskState.Queued, ct))
        {
            return;
        }
        await db.LabTunnels.Where(t => t.LabId == labId).ExecuteDeleteAsync(ct);
    }

    private static int Draw() => RandomNumberGenerator.GetInt32(FirstVni, VxlanPlan.MaxVni + 1);
}
