using Ltb.Server.Labs.Placement;

namespace Ltb.Server.Reservations;

/// <summary>Demand held on one host over a half-open interval [From, To): a reservation's share, or a running lab's.</summary>
public readonly record struct Booking(DateTimeOffset From, DateTimeOffset To, CpuMemory Demand);

/// <summary>The most a host's bookings demand at once within a window, per resource, and the first instant each peak is reached.</summary>
public readonly record struct PeakLoad(CpuMemory Load, DateTimeOffset CpuAt, DateTimeOffset MemoryAt);

/// <summary>
/// A host's load over time, from its bookings. Because a reservation's labs hold the same demand for the whole window,
/// it fits a host for every moment of the window exactly when it fits beside the window's peak load, per resource:
/// the peak is found with one sweep over the bookings' boundaries (sorted, O(n log n)), not by stepping through time.
/// </summary>
public static class CapacityTimeline
{
    public static PeakLoad PeakWithin(IEnumerable<Booking> bookings, DateTimeOffset from, DateTimeOffset to)
    {
        // Each booking clipped to the window becomes +demand at its start and -demand at its end.
        var edges = new List<(DateTimeOffset At, double Cpus, long Memory)>();
        foreach (var b in bookings)
        {
            var start = b.From > from ? b.From : from;
            var end = b.To < to ? b.To : to;
            if (start < end)
            {
                edges.Add((start, b.Demand.Cpus, b.Demand.MemoryBytes));
                edges.Add((end, -b.Demand.Cpus, -b.Demand.MemoryBytes));
            }
        }
        edges.Sort((x, y) => x.At.CompareTo(y.At));
        double cpus = 0, maxCpus = 0;
        long memory = 0, maxMemory = 0;
        DateTimeOffset cpuAt = from, memoryAt = from;
        for (var i = 0; i < edges.Count;)
        {
            // Every edge of one instant first (intervals are half-open: what ends there no longer counts), then the level.
            var at = edges[i].At;
            for (; i < edges.Count && edges[i].At == at; i++)
            {
                cpus += edges[i].Cpus;
                memory += edges[i].Memory;
            }
            if (at >= to)
            {
                break;
            }
            if (cpus > maxCpus + 1e-9)
            {
                (maxCpus, cpuAt) = (cpus, at);
            }
            if (memory > maxMemory)
            {
                (maxMemory, memoryAt) = (memory, at);
            }
        }
        return new PeakLoad(new CpuMemory(maxCpus, maxMemory), cpuAt, memoryAt);
    }
}
