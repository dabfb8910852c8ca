using Ltb.Server.Api;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Labs.Placement;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Labs;

/// <summary>Where a lab runs: its host (the owner of its task queue), where each node runs if it spans hosts, and why.</summary>
public sealed record PlacedLab(LabHost Host, LabLayout? Layout, string? Reason);

/// <summary>
/// Which host a new lab runs on (the policy: <see cref="PlacementPolicy"/>): any ready host the caller may place labs on
/// that runs the lab's kinds and has the capacity, or the one the user names (the `host` form field), checked the same
/// way. A lab stays on its host for its life (reconfigure and redeploy keep it). Callers hold a <see cref="PlacementLock"/>
/// from here until the lab is saved, so that concurrent deployments see each other's demand.
/// </summary>
public static class LabPlacement
{
    /// <param name="lifetime">A new lab's life (from <paramref name="now"/> until then, null: for good): it must fit beside the
    /// reservations booked for that time, at their peak (Reservations/), as well as beside the labs that run.</param>
    public static async Task<(PlacedLab? Placed, ProblemHttpResult? Refused, ValidationProblem? Invalid)> ChooseAsync(LtbDbContext db,
        IResourceAuthorizer<LabHost> authz, Caller caller, string? requested, Lab? existing, LabDemand demand, DateTimeOffset now,
        DateTimeOffset? lifetime, CancellationToken ct)
    {
        if (existing is not null && existing.State != LabLifecycle.Removed)
        {
            var current = await db.LabHosts.FirstAsync(h => h.Id == existing.HostId, ct);
            if (!string.IsNullOrEmpty(requested) && requested != current.Name)
            {
                return (null, Problems.Conflict($"lab '{existing.Name}' runs on host '{current.Name}'; destroy it to deploy it on '{requested}'"), null);
            }
            LabLayout? after = null;
            if (LabLayout.Parse(existing.LayoutJson) is { } before)
            {
                var hostIds = await db.LabHosts.Where(h => before.Hosts.Contains(h.Id)).ToDictionaryAsync(h => h.Name, h => h.Id, ct);
                after = before.Follow(demand, current.Id, hostIds);
                // A host left without nodes would keep its part of the lab: the spanning agent only visits the layout's hosts.
                if (!after.Hosts.ToHashSet().SetEquals(before.Hosts))
                {
                    return (null, Problems.Conflict($"lab '{existing.Name}' would change the hosts it spans; destroy it first, then deploy it again"), null);
                }
            }
            return await GrowthRefusedAsync(db, existing, demand, current, after, ct) is { } tooBig
                ? (null, tooBig, null)
                : (new PlacedLab(current, after, existing.PlacementReason), null, null);
        }
        var visible = await authz.Visible(db.LabHosts, caller).ToListAsync(ct);
        var pinned = string.IsNullOrEmpty(requested) ? null : requested;
        if (pinned is not null)
        {
            if (visible.FirstOrDefault(h => h.Name == pinned) is not { } host)
            {
                return (null, null, Problems.Invalid("host", $"there is no host '{pinned}' (GET /api/v1/hosts lists them)"));
            }
            if (!authz.Allows(caller, Operation.PlaceLabs, host))
            {
                return (null, Problems.Forbidden($"you may not deploy labs on host '{pinned}'"), null);
            }
        }
        var allocated = await Reservations.ReservationBookings.PeakAsync(db, now, lifetime, ct);
        var offers = visible.Select(h => HostOffer.From(h, authz.Allows(caller, Operation.PlaceLabs, h), allocated.GetValueOrDefault(h.Id)))
            .ToList();
        var decision = PlacementPolicy.Place(demand, offers, pinned);
        if (!decision.Placed)
        {
            return (null, Unplaceable(decision), null);
        }
        var chosen = visible.First(h => h.Id == decision.Host!.Id);
        var layout = decision.NodeHosts is { } nodeHosts ? new LabLayout(nodeHosts) : null;
        return (new PlacedLab(chosen, layout, decision.Reason), null, null);
    }

    /// <summary>409 when the lab, as changed, would need more on one of its hosts than the host has free beside its other labs.</summary>
    private static async Task<ProblemHttpResult?> GrowthRefusedAsync(LtbDbContext db, Lab lab, LabDemand demand, LabHost labHost,
        LabLayout? layout, CancellationToken ct)
    {
        var after = HostInventory.PerHost(demand, labHost.Id, layout);
        var before = await HostInventory.OfLabAsync(db, lab.Id, ct);
        var others = await HostInventory.AllocatedAsync(db, ct, except: lab.Id);
        var ids = after.Keys.ToList();
        var hosts = await db.LabHosts.AsNoTracking().Where(h => ids.Contains(h.Id)).ToListAsync(ct);
        var offers = hosts.Select(h => HostOffer.From(h, mayPlace: true, others.GetValueOrDefault(h.Id))).ToList();
        return PlacementPolicy.RefuseGrowth(lab.Name, before, after, offers) is { } reason ? Problems.Conflict(reason) : null;
    }

    /// <summary>409 with every host and why it cannot take the lab (also as the "hosts" extension, for programs).</summary>
    private static ProblemHttpResult Unplaceable(PlacementDecision decision) => TypedResults.Problem(
        statusCode: StatusCodes.Status409Conflict, title: "No host can take the lab", detail: decision.Reason,
        extensions: new Dictionary<string, object?>
        {
            ["hosts"] = decision.Rejections.Select(r => new Dictionary<string, object?> { ["host"] = r.Host, ["reasons"] = r.Reasons }).ToList(),
        });
}
