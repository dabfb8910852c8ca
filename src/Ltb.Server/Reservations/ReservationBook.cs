using Ltb.Server.Api;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Labs.Placement;
using Ltb.Server.Policy;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Reservations;

/// <summary>
/// Admission of a booking (new, changed or extended): under the <see cref="PlacementLock"/> (the one that serializes
/// lab placement: reservations and ad-hoc labs share the hosts), the quotas, then every host's bookings over the window,
/// then the plan. A refusal is a 409 naming the short resource, host and instant, with the nearest window that fits.
/// The caller saves the reservation and commits the lock.
/// </summary>
public sealed class ReservationBook(LtbDbContext db, PolicyStore policies, IResourceAuthorizer<LabHost> hostAuthz, TimeProvider clock)
{
    /// <summary>Admits <paramref name="r"/> (its window, demand and audience set) and stores its plan and shares; null when it fits.</summary>
    public async Task<ProblemHttpResult?> AdmitAsync(Caller caller, Reservation r, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var recipients = await ReservationPlan.RecipientsAsync(db, r, ct);
        if (recipients.Count == 0)
        {
            return Problems.Conflict($"reservation '{r.Name}' has nobody to deploy labs for (the group has no members)");
        }
        var policy = await policies.CurrentAsync(ct);
        if (await ReservationQuotas.RefuseAsync(db, policy, caller, r, recipients.Count, now, ct) is { } overQuota)
        {
            return overQuota;
        }
        var request = new CapacityRequest(r.HoldsFrom, r.EndsAt, recipients.Count, new CpuMemory(r.LabCpus, r.LabMemoryBytes),
            ReservationKinds(r));
        var hosts = await ReservationBookings.HostsAsync(db, hostAuthz, caller, ct);
        var bookings = await ReservationBookings.LoadAsync(db, r.HoldsFrom, r.EndsAt, r.Id, ct);
        var result = ReservationAdmission.Admit(request, hosts, bookings);
        if (!result.Admitted)
        {
            var all = await ReservationBookings.LoadAsync(db, now, null, r.Id, ct);
            var lead = r.StartsAt - r.HoldsFrom;
            var nearest = ReservationAdmission.NearestWindow(request, hosts, all, now);
            return Refused(result, nearest is { } w ? (w.From + lead, w.To) : null);
        }
        var plan = recipients.Zip(result.Hosts!, (who, host) => new PlannedLab(who.Id, who.Name, host)).ToList();
        r.PlanJson = ReservationPlan.ToJson(plan);
        await ReservationBookings.RecordAsync(db, r, plan, ct);
        return null;
    }

    /// <summary>
    /// Whether an active or scheduled reservation's labs can stay on their hosts until <paramref name="newEnd"/>: each
    /// host must hold its labs from the current end on, beside everything else booked then. Null when they can.
    /// </summary>
    public async Task<ProblemHttpResult?> AdmitExtensionAsync(Reservation r, DateTimeOffset newEnd, CancellationToken ct)
    {
        var plan = ReservationPlan.Parse(r.PlanJson);
        var bookings = await ReservationBookings.LoadAsync(db, r.EndsAt, newEnd, r.Id, ct);
        var hosts = await db.LabHosts.AsNoTracking().ToDictionaryAsync(h => h.Id, ct);
        var shortages = new List<Shortage>();
        foreach (var group in plan.GroupBy(p => p.HostId))
        {
            if (!hosts.TryGetValue(group.Key, out var host))
            {
                return Problems.Conflict($"reservation '{r.Name}': a host of its labs was removed; it cannot be extended");
            }
            var offer = HostOffer.From(host, true, CpuMemory.Zero);
            var need = new CpuMemory(r.LabCpus * group.Count(), r.LabMemoryBytes * group.Count());
            var result = ReservationAdmission.Admit(new CapacityRequest(r.EndsAt, newEnd, 1, need, []), [offer with { State = LabHostState.Ready }],
                bookings);
            shortages.AddRange(result.Shortages);
        }
        if (shortages.Count > 0)
        {
            return Refused(new AdmissionResult(null, $"reservation '{r.Name}' cannot be extended to {Shortage.Instant(newEnd)}: " +
                string.Join("; ", shortages), shortages, []), null);
        }
        r.EndsAt = newEnd;
        await ReservationBookings.RecordAsync(db, r, plan, ct);
        return null;
    }

    /// <summary>
    /// After a host stopped taking labs (drained, disabled, removed): every scheduled reservation with labs planned there
    /// is planned again over the hosts that are ready (their labs not deployed yet; active ones keep running where they
    /// are), and its owner is told in its <see cref="Reservation.Notice"/> (shown with the reservation) what moved or that
    /// nothing fits any more (the reservation keeps its old plan: change or cancel it). Answers how many were planned again.
    /// </summary>
    public async Task<int> ReplanHostAsync(Guid hostId, string hostName, string why, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var placementLock = await PlacementLock.AcquireAsync(db, ct);
        var affected = db.ReservationHostShares.Where(s => s.HostId == hostId).Select(s => s.ReservationId);
        var reservations = await db.Reservations.Where(r => r.State == ReservationState.Scheduled && affected.Contains(r.Id)).ToListAsync(ct);
        var moved = 0;
        // The hosts once, not once per reservation.
        var hosts = (await db.LabHosts.AsNoTracking().ToListAsync(ct)).Where(h => h.Id != hostId)
            .Select(h => HostOffer.From(h, true, CpuMemory.Zero)).ToList();
        foreach (var r in reservations)
        {
            var plan = ReservationPlan.Parse(r.PlanJson);
            var request = new CapacityRequest(r.HoldsFrom, r.EndsAt, plan.Count, new CpuMemory(r.LabCpus, r.LabMemoryBytes), ReservationKinds(r));
            var result = ReservationAdmission.Admit(request, hosts, await ReservationBookings.LoadAsync(db, r.HoldsFrom, r.EndsAt, r.Id, ct));
            if (result.Admitted)
            {
                plan = plan.Zip(result.Hosts!, (lab, host) => lab with { HostId = host }).ToList();
                r.PlanJson = ReservationPlan.ToJson(plan);
                await ReservationBookings.RecordAsync(db, r, plan, ct);
                var names = hosts.Where(h => result.Hosts!.Contains(h.Id)).Select(h => h.Name).Order(StringComparer.Ordinal);
                r.Notice = $"{Shortage.Instant(now)}: host '{hostName}' {why}; the labs were planned again on {string.Join(", ", names)}";
                moved++;
            }
            else
            {
                r.Notice = $"{Shortage.Instant(now)}: host '{hostName}' {why}, and the labs no longer fit elsewhere: {result.Refusal}. " +
                    "Change the reservation (another window, fewer labs) or cancel it";
            }
            r.UpdatedAt = now;
        }
        await db.SaveChangesAsync(ct);
        await placementLock.CommitAsync(ct);
        return moved;
    }

    public static IReadOnlyList<string> ReservationKinds(Reservation r) =>
        System.Text.Json.JsonSerializer.Deserialize<List<string>>(r.KindsJson) ?? [];

    /// <summary>409 with the shortages and the suggested window (also as extensions, for programs and the web UI).</summary>
    private static ProblemHttpResult Refused(AdmissionResult result, (DateTimeOffset From, DateTimeOffset To)? nearest)
    {
        var suggestion = nearest is { } w
            ? $". The nearest window of the same length that fits starts at {Shortage.Instant(w.From)} and ends at {Shortage.Instant(w.To)}"
            : ". No window of the same length fits soon: book fewer labs or a shorter window";
        return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The reservation does not fit",
            detail: result.Refusal + (result.Shortages.Count > 0 || nearest is not null ? suggestion : ""),
            extensions: new Dictionary<string, object?>
            {
                ["shortages"] = result.Shortages.Select(s => new Dictionary<string, object?>
                {
                    ["host"] = s.Host, ["resource"] = s.Resource, ["at"] = s.At, ["needed"] = s.Needed, ["free"] = s.Free, ["capacity"] = s.Capacity,
                }).ToList(),
                ["suggestion"] = nearest is { } n ? new Dictionary<string, object?> { ["startsAt"] = n.From, ["endsAt"] = n.To } : null,
            });
    }
}
