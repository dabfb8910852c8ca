using Ltb.Web.Components;

namespace Ltb.Server.Tests.Web;

/// <summary>The admin Reservations page's capacity timeline: what overlapping reservations hold on each host, and when they overbook it.</summary>
public sealed class CapacityTimelineTests
{
    private static readonly DateTimeOffset From = new(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);
    private const long GiB = 1L << 30;

    [Fact]
    public void Overlapping_reservations_add_up_per_host_and_past_capacity_is_overbooked()
    {
        var rack = Host("rack1-a", cpus: 8, memory: 16 * GiB);
        var other = Host("rack1-b", cpus: 8, memory: 16 * GiB);
        var timelines = CapacityTimeline.Build([other, rack],
        [
            // Two labs of 4 GiB on rack1-a from 09:00 to 11:00, one lab of 10 GiB on rack1-a from 10:00 to 12:00.
            Reservation("class", "scheduled", From.AddHours(1), From.AddHours(3), 4 * GiB, 1, rack, rack),
            Reservation("exam", "active", From.AddHours(2), From.AddHours(4), 10 * GiB, 2, rack),
            // Cancelled and past ones hold nothing; the one on rack1-b only there.
            Reservation("gone", "cancelled", From.AddHours(1), From.AddHours(5), 100 * GiB, 50, rack),
            Reservation("small", "scheduled", From.AddHours(-2), From.AddHours(1), 1 * GiB, 1, other),
        ], From, From.AddDays(1));

        Assert.Equal(["rack1-a", "rack1-b"], timelines.Select(t => t.Host));
        var a = timelines[0];
        Assert.Equal(
            [(From.AddHours(1), From.AddHours(2), 8 * GiB), (From.AddHours(2), From.AddHours(3), 18 * GiB), (From.AddHours(3), From.AddHours(4), 10 * GiB)],
            a.Steps.Select(s => (s.Start, s.End, s.MemoryBytes)));
        Assert.Equal(18 * GiB, a.Peak!.MemoryBytes);
        Assert.Equal(3, a.Peak.Labs);
        Assert.True(a.Overbooked);
        // Clipped to the window: the reservation that started before it counts from its start.
        var b = Assert.Single(timelines[1].Steps);
        Assert.Equal((From, From.AddHours(1)), (b.Start, b.End));
        Assert.False(timelines[1].Overbooked);
    }

    [Fact]
    public void A_host_without_reservations_has_an_empty_timeline_and_the_overrides_are_its_capacity()
    {
        var host = Host("h", cpus: 4, memory: 8 * GiB) with { CpusOverride = 2, MemoryBytesOverride = 4 * GiB };
        var timeline = Assert.Single(CapacityTimeline.Build([host], [], From, From.AddDays(7)));
        Assert.Empty(timeline.Steps);
        Assert.Null(timeline.Peak);
        Assert.Equal((4 * GiB, 2.0), (timeline.MemoryCapacity, timeline.CpuCapacity));
    }

    private static HostDto Host(string name, int cpus, long memory) =>
        new(Guid.NewGuid(), name, null, false, cpus, memory, new Dictionary<string, string>(), "ready", From, From, 1);

    private static ReservationDto Reservation(string name, string state, DateTimeOffset starts, DateTimeOffset ends, long memory, double cpus,
        params HostDto[] labs) =>
        new(Guid.NewGuid(), name, Guid.NewGuid(), "teacher", Guid.NewGuid(), "frr01", 1, starts, ends, "group", null, [], state, cpus, memory,
            [.. labs.Select((h, i) => new ReservationLabDto($"s{i}", Guid.NewGuid(), h.Id, h.Name, null))], 0, null, From, From, 1);
}
