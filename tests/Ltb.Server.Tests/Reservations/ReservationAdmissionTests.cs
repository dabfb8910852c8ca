using Ltb.Server.Data;
using Ltb.Server.Labs.Placement;
using Ltb.Server.Reservations;

namespace Ltb.Server.Tests.Reservations;

/// <summary>Admission as a pure function of the hosts and their bookings (no database, no clock).</summary>
public sealed class ReservationAdmissionTests
{
    private static readonly DateTimeOffset T0 = new(2027, 3, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly CpuMemory Lab = new(1, 256L << 20);

    private static HostOffer Host(string name, double cpus, long memoryMiB) =>
        new(Guid.NewGuid(), name, LabHostState.Ready, true, null, null, new CpuMemory(cpus, memoryMiB << 20), CpuMemory.Zero);

    private static Booking B(int fromMin, int toMin, double cpus, long memoryMiB) =>
        new(T0.AddMinutes(fromMin), T0.AddMinutes(toMin), new CpuMemory(cpus, memoryMiB << 20));

    private static CapacityRequest Ask(int fromMin, int toMin, int labs = 1) => new(T0.AddMinutes(fromMin), T0.AddMinutes(toMin), labs, Lab, ["linux"]);

    [Fact]
    public void The_peak_is_found_at_the_instant_bookings_overlap_most_and_touching_intervals_do_not_add()
    {
        // 10:00-10:20 and 10:20-10:40 touch (half-open); 10:30-11:00 overlaps the second.
        var peak = CapacityTimeline.PeakWithin([B(0, 20, 1, 100), B(20, 40, 1, 100), B(30, 60, 2, 300)], T0, T0.AddHours(1));
        Assert.Equal(3, peak.Load.Cpus, 6);
        Assert.Equal(400L << 20, peak.Load.MemoryBytes);
        Assert.Equal(T0.AddMinutes(30), peak.CpuAt);
        Assert.Equal(T0.AddMinutes(30), peak.MemoryAt);
        // Outside the window nothing counts.
        Assert.Equal(0, CapacityTimeline.PeakWithin([B(0, 20, 1, 100)], T0.AddMinutes(20), T0.AddHours(1)).Load.Cpus);
    }

    [Fact]
    public void Labs_go_to_the_host_with_most_memory_left_and_spread()
    {
        var a = Host("a", 4, 1024);
        var b = Host("b", 4, 768);
        var result = ReservationAdmission.Admit(Ask(0, 60, labs: 3), [a, b], new Dictionary<Guid, List<Booking>>());
        Assert.True(result.Admitted, result.Refusal);
        Assert.Equal([a.Id, b.Id, a.Id], result.Hosts);
    }

    [Fact]
    public void Short_of_cpu_names_the_host_the_resource_and_the_instant()
    {
        var h = Host("h1", 2, 4096);
        var bookings = new Dictionary<Guid, List<Booking>> { [h.Id] = [B(15, 45, 2, 256)] };
        var result = ReservationAdmission.Admit(Ask(0, 60), [h], bookings);
        Assert.False(result.Admitted);
        var s = Assert.Single(result.Shortages);
        Assert.Equal(("h1", "CPU", T0.AddMinutes(15)), (s.Host, s.Resource, s.At));
        Assert.Contains("host 'h1' is short of CPU at", result.Refusal);
        var window = ReservationAdmission.NearestWindow(Ask(0, 60), [h], bookings, T0);
        Assert.Equal((T0.AddMinutes(45), T0.AddMinutes(105)), window);
    }

    [Fact]
    public void Short_of_memory_at_one_instant_of_the_window_only()
    {
        // 512 MiB: two bookings that never overlap each other fit beside the lab; a third makes 10:40 the one full instant.
        var h = Host("m", 16, 512);
        var bookings = new Dictionary<Guid, List<Booking>> { [h.Id] = [B(0, 20, 0, 256), B(40, 60, 0, 256)] };
        Assert.True(ReservationAdmission.Admit(Ask(0, 60), [h], bookings).Admitted);
        bookings[h.Id].Add(B(40, 41, 0, 256));
        var result = ReservationAdmission.Admit(Ask(0, 60), [h], bookings);
        var s = Assert.Single(result.Shortages);
        Assert.Equal(("memory", T0.AddMinutes(40)), (s.Resource, s.At));
        Assert.Equal("0 MiB", s.Free);
    }

    [Fact]
    public void Hosts_that_take_no_labs_are_named_with_why()
    {
        var draining = Host("d", 64, 65536) with { State = LabHostState.Draining };
        var result = ReservationAdmission.Admit(Ask(0, 60), [draining], new Dictionary<Guid, List<Booking>>());
        Assert.False(result.Admitted);
        Assert.Contains("host 'd': not ready (draining)", result.Refusal);
        Assert.Null(ReservationAdmission.NearestWindow(Ask(0, 60), [draining], new Dictionary<Guid, List<Booking>>(), T0));
    }
}
