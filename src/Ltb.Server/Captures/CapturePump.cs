using Ltb.Contracts;

namespace Ltb.Server.Captures;

/// <summary>When a capture's stream ends at the latest: packets, bytes of packet data, time.</summary>
public sealed record CaptureBounds(int Count, long Bytes, TimeSpan Duration);

/// <summary>
/// Writes what a <see cref="CaptureViewer"/> reads as one pcapng stream: section header, one interface block per
/// interface, then each packet as it comes (flushed at once) until the bounds are reached, every interface's capture
/// ended, or the stream's reader left; then, for a reader still there, one statistics block per interface with the
/// packets it lost (isb_ifdrop) and a comment saying why it ended. The live capture endpoint pumps into the HTTP answer,
/// a decoded capture into its file and tshark.
/// </summary>
public static class CapturePump
{
    /// <summary>Pumps until the end; returns why it ended (null: the reader left, <paramref name="ct"/> was cancelled).</summary>
    public static async Task<string?> RunAsync(Stream output, CaptureViewer viewer, IReadOnlyList<string> names, IReadOnlyList<PcapHeader> headers,
        CaptureBounds bounds, CancellationToken ct)
    {
        var pcapng = new PcapngWriter(output);
        var delivered = new ulong[names.Count];
        var ended = new string?[names.Count];
        try
        {
            await pcapng.WriteSectionHeaderAsync("LTB (Lab Topology Builder)", ct);
            for (var i = 0; i < names.Count; i++)
            {
                await pcapng.WriteInterfaceAsync(names[i], headers[i].LinkType, headers[i].SnapLength, ct);
            }
            await output.FlushAsync(ct);
            var why = await PacketsAsync(output, pcapng, viewer, bounds, delivered, ended, ct);
            var end = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
            for (var i = 0; i < names.Count; i++)
            {
                var dropped = (ulong)viewer.Dropped(i);
                await pcapng.WriteStatisticsAsync(i, end, delivered[i], dropped,
                    $"ltb: {delivered[i]} packets delivered to this reader, {dropped} dropped because it read too slowly " +
                    $"(a reader's queue holds {CaptureLimits.ViewerQueuePackets} packets); ended: {ended[i] ?? why}", ct);
            }
            await output.FlushAsync(ct);
            return why;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && ct.IsCancellationRequested)
        {
            // The reader left: leaving the viewer (the caller disposes it) stops the captures nobody else reads.
            return null;
        }
    }

    private static async Task<string> PacketsAsync(Stream output, PcapngWriter pcapng, CaptureViewer viewer, CaptureBounds bounds,
        ulong[] delivered, string?[] ended, CancellationToken ct)
    {
        using var time = CancellationTokenSource.CreateLinkedTokenSource(ct);
        time.CancelAfter(bounds.Duration);
        var packets = 0;
        long sent = 0;
        try
        {
            while (packets < bounds.Count && sent < bounds.Bytes && ended.Any(e => e is null))
            {
                var item = await viewer.ReadAsync(time.Token);
                if (item.Packet is not { } packet)
                {
                    ended[item.InterfaceId] = item.Error is null ? "its capture ended" : $"its capture failed: {item.Error.Message}";
                    continue;
                }
                await pcapng.WritePacketAsync(item.InterfaceId, packet, ct);
                await output.FlushAsync(ct);
                delivered[item.InterfaceId]++;
                packets++;
                sent += packet.Data.Length;
            }
            return packets >= bounds.Count ? $"the packet count ({bounds.Count}) was reached"
                : sent >= bounds.Bytes ? $"the byte limit ({bounds.Bytes}) was reached"
                : "every interface's capture ended";
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return $"the time limit ({bounds.Duration.TotalSeconds:0} s) was reached";
        }
    }
}
