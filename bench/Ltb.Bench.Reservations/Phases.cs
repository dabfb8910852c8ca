using System.Diagnostics;
using System.Globalization;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Labs.Placement;
using Ltb.Server.Reservations;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Where an admission's time goes: each of its reads and the sweep timed alone (median and p99 of 100 rounds, in a scope
/// of their own, each round in a fresh scope as a request has), so that docs/benchmarks.md can say what dominates.
/// </summary>
internal static class Phases
{
    public static async Task PrintAsync(IServiceProvider services, Caller admin, Guid group, DatabaseProvider provider)
    {
        var times = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var random = new Random(11);
        for (var i = 0; i < 100; i++)
        {
            var start = Seed.Origin.AddMinutes(random.Next(0, 30 * 24 * 60));
            await using var scope = services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
            var authz = scope.ServiceProvider.GetRequiredService<IResourceAuthorizer<LabHost>>();
            var r = new Reservation { Id = Guid.NewGuid(), OwnerId = admin.UserId, Audience = ReservationAudience.Members, GroupId = group };
            var recipients = await Time(times, "recipients", () => ReservationPlan.RecipientsAsync(db, r, CancellationToken.None));
            var hosts = await Time(times, "hosts", () => ReservationBookings.HostsAsync(db, authz, admin, CancellationToken.None));
            var bookings = await Time(times, "bookings (shares and labs)", () =>
                ReservationBookings.LoadAsync(db, start, start.AddHours(2), r.Id, CancellationToken.None));
            // The read as it was before 2026-12-07 (a condition on ReservationId, which the covering index lacks).
            var (from, to, except) = (start, start.AddHours(2), r.Id);
            await Time(times, "  the shares read as before", () => db.ReservationHostShares.AsNoTracking()
                .Where(s => s.EndsAt > from && s.ReservationId != except && s.HoldsFrom < to)
                .Select(s => new { s.HostId, s.HoldsFrom, s.EndsAt, s.Cpus, s.MemoryBytes }).ToListAsync(CancellationToken.None));
            await Time(times, "  of which labs outside reservations", () => ReservationBookings.RunningLabsAsync(db, CancellationToken.None));
            var request = new CapacityRequest(start, start.AddHours(2), recipients.Count, new CpuMemory(1, 256L << 20), ["linux"]);
            await Time(times, "sweep and plan (no database)", () => Task.FromResult(ReservationAdmission.Admit(request, hosts, bookings)));
        }
        foreach (var (phase, values) in times)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{provider}: phase {phase,-38} p50 {Bench.Percentile(values, 0.5):0.00} ms, p99 {Bench.Percentile(values, 0.99):0.00} ms"));
        }
    }

    private static async Task<T> Time<T>(Dictionary<string, List<double>> times, string phase, Func<Task<T>> work)
    {
        var sw = Stopwatch.StartNew();
        var result = await work();
        if (!times.TryGetValue(phase, out var list))
        {
            times[phase] = list = [];
        }
        list.Add(sw.Elapsed.TotalMilliseconds);
        return result;
    }
}
