using System.Buffers.Binary;
using Ltb.Contracts;
using Ltb.Server.Captures;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// The capture hub's fan-out and bounds, fed by a pcap stream written here (tcpdump's format, as the agent sends it):
/// a slow viewer loses packets (counted) while another gets them all from the same one source, the source is stopped
/// when its last viewer leaves, and a user's captures are bounded.
/// </summary>
public sealed class CaptureHubTests
{
    private static readonly CaptureKey Key = new(Guid.NewGuid(), "lab", "r1", "eth1", "", 65535);

    [Fact]
    public async Task A_slow_viewer_loses_counted_packets_while_another_gets_all_and_the_last_to_leave_stops_the_source()
    {
        var hub = new CaptureHub(NullLogger<CaptureHub>.Instance);
        var starts = 0;
        var stopped = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        const int packets = CaptureLimits.ViewerQueuePackets + 500;
        CaptureStart start = async (write, ct) =>
        {
            Interlocked.Increment(ref starts);
            await using var _ = ct.Register(() => stopped.TrySetResult());
            await write(Header(), ct);
            await release.Task.WaitAsync(ct);
            for (var i = 0; i < packets; i++)
            {
                await write(Record(i), ct);
                if (i % 256 == 255)
                {
                    // Paced (a link, not a burst into the queue): the reader keeps up, the slow viewer does not.
                    await Task.Delay(50, ct);
                }
            }
            await Task.Delay(Timeout.Infinite, ct);
        };
        var ct = TestContext.Current.CancellationToken;
        var reader = hub.OpenViewer(Guid.NewGuid())!;
        var slow = hub.OpenViewer(Guid.NewGuid())!;
        await reader.Follow(0, Key, start).Header.WaitAsync(ct);
        var header = await slow.Follow(0, Key, start).Header.WaitAsync(ct);
        Assert.Equal((1u, 65535u), (header.LinkType, header.SnapLength));
        Assert.Equal(1, starts);
        Assert.Equal(1, hub.RunningSources);

        // The reader keeps up; the slow viewer reads nothing while all packets arrive.
        var read = Task.Run(async () =>
        {
            var seen = new List<int>();
            while (seen.Count < packets)
            {
                var item = await reader.ReadAsync(ct);
                seen.Add(BinaryPrimitives.ReadInt32LittleEndian(item.Packet!.Data));
            }
            return seen;
        }, ct);
        release.SetResult();
        Assert.Equal(Enumerable.Range(0, packets), await read.WaitAsync(TimeSpan.FromSeconds(30), ct));
        Assert.Equal(0, reader.Dropped(0));
        Assert.Equal(500, slow.Dropped(0));
        // What it kept are the oldest packets, in order.
        Assert.Equal(0, BinaryPrimitives.ReadInt32LittleEndian((await slow.ReadAsync(ct)).Packet!.Data));

        reader.Dispose();
        Assert.False(stopped.Task.IsCompleted);
        slow.Dispose();
        await stopped.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
        Assert.Equal(0, hub.RunningSources);
    }

    [Fact]
    public void A_user_has_a_bounded_number_of_captures_open()
    {
        var hub = new CaptureHub(NullLogger<CaptureHub>.Instance);
        var user = Guid.NewGuid();
        var open = Enumerable.Range(0, CaptureLimits.MaxPerUser).Select(_ => hub.OpenViewer(user)).ToList();
        Assert.All(open, Assert.NotNull);
        Assert.Null(hub.OpenViewer(user));
        Assert.NotNull(hub.OpenViewer(Guid.NewGuid()));
        open[0]!.Dispose();
        Assert.NotNull(hub.OpenViewer(user));
    }

    /// <summary>A pcap global header (little-endian, microseconds, Ethernet, snap length 65535).</summary>
    private static byte[] Header()
    {
        var h = new byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0xa1b2c3d4);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(4), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(6), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), 65535);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(20), 1);
        return h;
    }

    /// <summary>A record of 60 bytes whose first four are its number.</summary>
    private static byte[] Record(int n)
    {
        var r = new byte[16 + 60];
        BinaryPrimitives.WriteUInt32LittleEndian(r, 1_700_000_000u + (uint)n);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(8), 60);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(12), 60);
        BinaryPrimitives.WriteInt32LittleEndian(r.AsSpan(16), n);
        return r;
    }
}
