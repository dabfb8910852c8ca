using System.Globalization;

namespace Ltb.Contracts;

/// <summary>
/// A live capture's request (<c>GET /api/v1/labs/{lab}/capture</c>): the query string of the answer's pcapng stream.
/// </summary>
/// <param name="Interfaces">Each as <c>NODE:IFACE</c>; one pcapng interface each, in this order.</param>
/// <param name="Filter">A BPF filter (libpcap syntax, as for tcpdump), applied on every interface.</param>
/// <param name="SnapLength">The most bytes kept of each packet (default and most: <see cref="CaptureLimits.MaxSnapLength"/>).</param>
/// <param name="Count">Stop after this many packets (all interfaces together; default and most: <see cref="CaptureLimits.MaxPackets"/>).</param>
/// <param name="Seconds">Stop after this long (default and most: <see cref="CaptureLimits.MaxSeconds"/>).</param>
public sealed record CaptureQuery(IReadOnlyList<string> Interfaces, string? Filter = null, int? SnapLength = null, int? Count = null,
    int? Seconds = null)
{
    public string ToQueryString()
    {
        var parts = Interfaces.Select(i => $"interface={Uri.EscapeDataString(i)}").ToList();
        if (!string.IsNullOrEmpty(Filter))
        {
            parts.Add($"filter={Uri.EscapeDataString(Filter)}");
        }
        Add(parts, "snaplen", SnapLength);
        Add(parts, "count", Count);
        Add(parts, "seconds", Seconds);
        return string.Join('&', parts);
    }

    private static void Add(List<string> parts, string name, int? value)
    {
        if (value is { } v)
        {
            parts.Add($"{name}={v.ToString(CultureInfo.InvariantCulture)}");
        }
    }
}

/// <summary>The server's bounds on live captures (docs/security.md, "Captures").</summary>
public static class CaptureLimits
{
    /// <summary>The answer's media type: a pcapng stream (Wireshark reads it from a pipe: <c>wireshark -k -i -</c>).</summary>
    public const string MediaType = "application/x-pcapng";
    public const int MaxInterfaces = 8;
    public const int MaxSnapLength = 262144;
    public const int MaxPackets = 1_000_000;
    public const int MaxSeconds = 3600;
    public const int MaxFilterLength = 1024;
    /// <summary>Captures (requests) one user may have open at once.</summary>
    public const int MaxPerUser = 4;
    /// <summary>Packets waiting for one viewer; past it that viewer's newest packets are dropped (and counted), nobody else's.</summary>
    public const int ViewerQueuePackets = 2048;
    /// <summary>Bytes of packets waiting for one viewer (offloaded segments on veth links reach 64 KiB each): the same rule.</summary>
    public const int ViewerQueueBytes = 16 << 20;
}
