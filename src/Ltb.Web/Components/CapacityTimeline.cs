using Ltb.Contracts;

namespace Ltb.Web.Components;

/// <summary>
/// What the reservations ahead hold on each host over a window: a step function of reserved memory and CPUs (each
/// reservation's labs on that host, from its start to its end), its peak, and whether the peak passes the host's
/// capacity. The admin Reservations page draws it (CapacityTimelineView); pure, so it is tested without a browser.
/// </summary>
public sealed record CapacityTimeline(string Host, long MemoryCapacity, double CpuCapacity, IReadOnlyList<CapacityStep> Steps)
{
    public CapacityStep? Peak => Steps.Count == 0 ? null : Steps.MaxBy(s => s.MemoryBytes);

    public bool Overbooked => Steps.Any(s => s.MemoryBytes > MemoryCapacity || s.Cpus > CpuCapacity);

    /// <summary>One timeline per host, over [<paramref name="from"/>, <paramref name="to"/>); reservations not scheduled or active are left out.</summary>
    public static IReadOnlyList<CapacityTimeline> Build(IEnumerable<HostDto> hosts, IEnumerable<ReservationDto> reservations,
        DateTimeOffset from, DateTimeOffset to)
    {
        var live = reservations.Where(r => r.State.Equals("scheduled", StringComparison.OrdinalIgnoreCase)
            || r.State.Equals("active", StringComparison.OrdinalIgnoreCase)).ToList();
        return hosts.OrderBy(h => h.Name, StringComparer.Ordinal).Select(h =>
        {
            // Each lab a reservation places on the host holds the reservation's per-lab figures for its window.
            var holds = live.SelectMany(r => r.Labs.Where(l => l.HostId == h.Id)
                    .Select(_ => (Start: Max(r.StartsAt, from), End: Min(r.EndsAt, to), r.LabMemoryBytes, r.LabCpus)))
                .Where(x => x.Start < x.End).ToList();
            var capacity = h.Capacity ?? new HostResourcesDto(h.CpusOverride ?? h.Cpus, h.MemoryBytesOverride ?? h.MemoryBytes);
            return new CapacityTimeline(h.Name, capacity.MemoryBytes, capacity.Cpus, StepsOf(holds, from, to));
        }).ToList();
    }

    private static List<CapacityStep> StepsOf(List<(DateTimeOffset Start, DateTimeOffset End, long Memory, double Cpus)> holds,
        DateTimeOffset from, DateTimeOffset to)
    {
        var edges = holds.SelectMany(x => new[] { x.Start, x.End }).Append(from).Append(to).Distinct().Order().ToList();
        var steps = new List<CapacityStep>();
        for (var i = 0; i + 1 < edges.Count; i++)
        {
            var (start, end) = (edges[i], edges[i + 1]);
            var active = holds.Where(x => x.Start <= start && x.End >= end).ToList();
            if (active.Count > 0)
            {
                steps.Add(new CapacityStep(start, end, active.Sum(x => x.Memory), active.Sum(x => x.Cpus), active.Count));
            }
        }
        return steps;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}

/// <summary>A stretch of time during which the same labs are reserved on a host.</summary>
public sealed record CapacityStep(DateTimeOffset Start, DateTimeOffset End, long MemoryBytes, double Cpus, int Labs);
