using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Labs.Placement;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Reservations;

/// <summary>
/// What admission reads from the store: the hosts (as placement offers them to the caller) and, per host, every booking
/// that may overlap a window: the shares of scheduled and active reservations, and the labs that run outside any of them
/// (ad-hoc labs until their expiry, else for good; a reservation's lab that outlived its reservation the same). Read
/// under the <see cref="PlacementLock"/>, like placement, so that two admissions see each other.
/// </summary>
public static class ReservationBookings
{
    public static async Task<List<HostOffer>> HostsAsync(LtbDbContext db, IResourceAuthorizer<LabHost> authz, Caller caller, CancellationToken ct) =>
        (await authz.Visible(db.LabHosts.AsNoTracking(), caller).ToListAsync(ct))
        .Select(h => HostOffer.From(h, authz.Allows(caller, Operation.PlaceLabs, h), CpuMemory.Zero))
        .ToList();

    /// <param name="to">Null: every booking that ends after <paramref name="from"/> (for the search of another window).</param>
    /// <param name="except">A reservation to leave out (the one being updated or extended).</param>
    public static async Task<Dictionary<Guid, List<Booking>>> LoadAsync(LtbDbContext db, DateTimeOffset from, DateTimeOffset? to, Guid? except,
        CancellationToken ct)
    {
        // Only the columns of the covering index, and no condition on another column: the read never touches the table.
        // (A condition on ReservationId, not in that index, made every overlapping entry a table lookup.) The excepted
        // reservation's own rows are read by their key and taken out after.
        var shares = db.ReservationHostShares.AsNoTracking().Where(s => s.EndsAt > from);
        if (to is { } end)
        {
            shares = shares.Where(s => s.HoldsFrom < end);
        }
        var rows = await shares.Select(s => new ShareRow(s.HostId, s.HoldsFrom, s.EndsAt, s.Cpus, s.MemoryBytes)).ToListAsync(ct);
        if (except is { } id)
        {
            var own = await db.ReservationHostShares.AsNoTracking().Where(s => s.ReservationId == id)
                .Select(s => new ShareRow(s.HostId, s.HoldsFrom, s.EndsAt, s.Cpus, s.MemoryBytes)).ToListAsync(ct);
            // Equal rows are interchangeable: one occurrence per own row goes.
            own.Where(o => o.EndsAt > from && (to is null || o.HoldsFrom < to)).ToList().ForEach(o => rows.Remove(o));
        }
        var byHost = new Dictionary<Guid, List<Booking>>();
        foreach (var s in rows)
        {
            Add(byHost, s.HostId, new Booking(s.HoldsFrom, s.EndsAt, new CpuMemory(s.Cpus, s.MemoryBytes)));
        }
        foreach (var (host, booking) in await RunningLabsAsync(db, ct))
        {
            if (booking.To > from)
            {
                Add(byHost, host, booking);
            }
        }
        return byHost;
    }

    /// <summary>
    /// Per host, the most that running labs and reservations demand at once from <paramref name="from"/> until
    /// <paramref name="until"/> (null: from then on): what a new ad-hoc lab of that life must fit beside. Without
    /// reservations it is what the labs on the host demand (<see cref="HostInventory.AllocatedAsync"/>).
    /// </summary>
    public static async Task<Dictionary<Guid, CpuMemory>> PeakAsync(LtbDbContext db, DateTimeOffset from, DateTimeOffset? until, CancellationToken ct)
    {
        var bookings = await LoadAsync(db, from, until, null, ct);
        return bookings.ToDictionary(b => b.Key, b => CapacityTimeline.PeakWithin(b.Value, from, until ?? DateTimeOffset.MaxValue).Load);
    }

    /// <summary>Labs on hosts that no scheduled or active reservation counts: from now on, until their expiry or for good.</summary>
    public static async Task<List<(Guid Host, Booking Booking)>> RunningLabsAsync(LtbDbContext db, CancellationToken ct)
    {
        var held = db.Reservations.Where(r => r.State == ReservationState.Scheduled || r.State == ReservationState.Active).Select(r => r.Id);
        var rows = await (from s in db.LabHostShares
                          join l in db.Labs on s.LabId equals l.Id
                          where l.State != LabLifecycle.Removed && (l.ReservationId == null || !held.Contains(l.ReservationId.Value))
                          select new { s.HostId, s.Cpus, s.MemoryBytes, l.ExpiresAt })
            .AsNoTracking().ToListAsync(ct);
        return rows.Select(r => (r.HostId, new Booking(DateTimeOffset.MinValue, r.ExpiresAt ?? DateTimeOffset.MaxValue,
            new CpuMemory(r.Cpus, r.MemoryBytes)))).ToList();
    }

    /// <summary>Replaces a reservation's share rows with its plan (one row per host: its labs there); none once it no longer holds capacity.</summary>
    public static async Task RecordAsync(LtbDbContext db, Reservation r, IReadOnlyList<PlannedLab> plan, CancellationToken ct)
    {
        // A reservation not stored yet (a new booking) has no rows to replace.
        var rows = db.Entry(r).State == EntityState.Detached ? []
            : await db.ReservationHostShares.Where(s => s.ReservationId == r.Id).ToListAsync(ct);
        db.ReservationHostShares.RemoveRange(rows);
        if (r.State is not (ReservationState.Scheduled or ReservationState.Active))
        {
            return;
        }
        foreach (var host in plan.GroupBy(p => p.HostId))
        {
            var labs = host.Count();
            var row = rows.FirstOrDefault(x => x.HostId == host.Key) ?? new ReservationHostShare { ReservationId = r.Id, HostId = host.Key };
            (row.HoldsFrom, row.EndsAt, row.Cpus, row.MemoryBytes) = (r.HoldsFrom, r.EndsAt, r.LabCpus * labs, r.LabMemoryBytes * labs);
            if (db.Entry(row).State == EntityState.Deleted)
            {
                db.Entry(row).State = EntityState.Modified;
            }
            else
            {
                db.ReservationHostShares.Add(row);
            }
        }
    }

    private sealed record ShareRow(Guid HostId, DateTimeOffset HoldsFrom, DateTimeOffset EndsAt, double Cpus, long MemoryBytes);

    private static void Add(Dictionary<Guid, List<Booking>> byHost, Guid host, Booking booking)
    {
        if (!byHost.TryGetValue(host, out var list))
        {
            byHost[host] = list = [];
        }
        list.Add(booking);
    }
}
