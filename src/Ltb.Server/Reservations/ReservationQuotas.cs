using System.Globalization;
using Ltb.Server.Api;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Labs.Placement;
using Ltb.Topology.Policy;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Reservations;

/// <summary>
/// The reservation figures of the quotas (<see cref="Quota"/>) checked when a non-admin books or changes a booking: the
/// longest window, how far ahead it may start, the hours booked in the week it starts in (window x labs; weeks start
/// Monday 00:00 UTC), and the labs at once (the peak over the window of the booker's reservations' labs, this one
/// included, against `runningLabs`). A role quota counts the booker's reservations, a group quota those of all its
/// members; every quota that applies is checked, so the tightest decides. Cancelled reservations do not count.
/// </summary>
public static class ReservationQuotas
{
    public static async Task<ProblemHttpResult?> RefuseAsync(LtbDbContext db, TenantPolicy policy, Caller caller, Reservation candidate, int labs,
        DateTimeOffset now, CancellationToken ct)
    {
        if (caller.IsAdmin)
        {
            return null;
        }
        var scopes = caller.Roles.Order(StringComparer.Ordinal).Where(policy.RoleQuotas.ContainsKey)
            .Select(r => (Scope: $"role '{r}'", Quota: policy.RoleQuotas[r], Owners: (IQueryable<Guid>?)null)).ToList();
        if (policy.GroupQuotas.Count > 0 && caller.GroupIds.Count > 0)
        {
            var ids = caller.GroupIds.ToList();
            var groups = await db.Groups.AsNoTracking().Where(g => ids.Contains(g.Id)).Select(g => new { g.Id, g.Name }).ToListAsync(ct);
            scopes.AddRange(groups.Where(g => policy.GroupQuotas.ContainsKey(g.Name)).OrderBy(g => g.Name, StringComparer.Ordinal)
                .Select(g => ($"group '{g.Name}'", policy.GroupQuotas[g.Name],
                    (IQueryable<Guid>?)db.GroupMembers.Where(m => m.GroupId == g.Id).Select(m => m.UserId))));
        }
        foreach (var (scope, quota, owners) in scopes)
        {
            var theirs = owners is null ? db.Reservations.Where(r => r.OwnerId == caller.UserId) : db.Reservations.Where(r => owners.Contains(r.OwnerId));
            if (await ExceededAsync(quota, theirs, candidate, labs, now, ct) is { } refusal)
            {
                return Problems.Conflict($"{scope} {refusal}");
            }
        }
        return null;
    }

    private static async Task<string?> ExceededAsync(Quota quota, IQueryable<Reservation> theirs, Reservation c, int labs, DateTimeOffset now,
        CancellationToken ct)
    {
        var hours = (c.EndsAt - c.StartsAt).TotalHours;
        if (quota.LongestWindowHours is { } longest && hours > longest + 1e-9)
        {
            return $"may book windows of at most {Figure(longest)} hours; this one is {Figure(hours)}: book a shorter one";
        }
        if (quota.BookAheadDays is { } ahead && (c.StartsAt - now).TotalDays > ahead + 1e-9)
        {
            return $"may book at most {Figure(ahead)} days ahead; this one starts in {Figure((c.StartsAt - now).TotalDays)} days";
        }
        if (quota.ReservedHoursPerWeek is null && quota.RunningLabs is null)
        {
            return null;
        }
        var rows = (await theirs.AsNoTracking()
                .Where(r => r.Id != c.Id && r.State != ReservationState.Cancelled && r.EndsAt > now)
                .Select(r => new { r.StartsAt, r.EndsAt, r.PlanJson }).ToListAsync(ct))
            .Select(r => (r.StartsAt, r.EndsAt, Labs: ReservationPlan.Parse(r.PlanJson).Count)).ToList();
        if (quota.ReservedHoursPerWeek is { } weekly)
        {
            var week = WeekOf(c.StartsAt);
            var booked = rows.Where(r => WeekOf(r.StartsAt) == week).Sum(r => (r.EndsAt - r.StartsAt).TotalHours * r.Labs);
            if (booked + hours * labs > weekly + 1e-9)
            {
                return $"may book at most {Figure(weekly)} lab hours in a week; the week of {week:yyyy-MM-dd} has {Figure(booked)} booked " +
                    $"and this reservation needs {Figure(hours * labs)} ({labs} lab{(labs == 1 ? "" : "s")} x {Figure(hours)} h)";
            }
        }
        if (quota.RunningLabs is { } maxLabs)
        {
            // The count of labs at once, swept like capacity: each reservation "demands" its number of labs.
            var peak = CapacityTimeline.PeakWithin(rows.Select(r => new Booking(r.StartsAt, r.EndsAt, new CpuMemory(r.Labs, 0))), c.StartsAt, c.EndsAt);
            if (peak.Load.Cpus + labs > maxLabs + 1e-9)
            {
                return $"may have at most {maxLabs} lab{(maxLabs == 1 ? "" : "s")} at once; {Figure(peak.Load.Cpus)} are booked at " +
                    $"{Shortage.Instant(peak.CpuAt)} and this reservation needs {labs}";
            }
        }
        return null;
    }

    /// <summary>The Monday 00:00 UTC that starts the week of <paramref name="at"/>.</summary>
    public static DateTime WeekOf(DateTimeOffset at)
    {
        var day = at.UtcDateTime.Date;
        return day.AddDays(-(((int)day.DayOfWeek + 6) % 7));
    }

    private static string Figure(double x) => Math.Round(x, 2).ToString("0.##", CultureInfo.InvariantCulture);
}
