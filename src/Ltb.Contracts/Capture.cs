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
/// <param name="Mirrors">Mirror interfaces of the lab, by name; captured after <paramref name="Interfaces"/>.</param>
/// <param name="Bytes">Stop once this many bytes of packets were sent (default and most: <see cref="CaptureLimits.MaxBytes"/>).</param>
public sealed record CaptureQuery(IReadOnlyList<string> Interfaces, string? Filter = null, int? SnapLength = null, int? Count = null,
    int? Seconds = null, IReadOnlyList<string>? Mirrors = null, long? Bytes = null)
{
    public string ToQueryString()
    {
        var parts = Interfaces.Select(i => $"interface={Uri.EscapeDataString(i)}")
            .Concat((Mirrors ?? []).Select(m => $"mirror={Uri.EscapeDataString(m)}")).ToList();
        if (!string.IsNullOrEmpty(Filter))
        {
            parts.Add($"filter={Uri.EscapeDataString(Filter)}");
        }
        Add(parts, "snaplen", SnapLength);
        Add(parts, "count", Count);
        Add(parts, "seconds", Seconds);
        Add(parts, "bytes", Bytes);
        return string.Join('&', parts);
    }

    private static void Add(List<string> parts, string name, long? value)
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
    /// <summary>Bytes of packet data one capture request sends at most (its stream ends there).</summary>
    public const long MaxBytes = 1L << 30;
    public const int MaxFilterLength = 1024;
    /// <summary>Captures (requests) one user may have open at once.</summary>
    public const int MaxPerUser = 4;
    /// <summary>Packets waiting for one viewer; past it that viewer's newest packets are dropped (and counted), nobody else's.</summary>
    public const int ViewerQueuePackets = 2048;
    /// <summary>Bytes of packets waiting for one viewer (offloaded segments on veth links reach 64 KiB each): the same rule.</summary>
    public const int ViewerQueueBytes = 16 << 20;
}

/// <summary>
/// A capture decoded on the server for the browser (<c>POST /api/v1/labs/{lab}/captures</c>): the interfaces as for a
/// live capture, a capture filter (BPF) and a display filter (Wireshark's syntax, applied to the list).
/// </summary>
public sealed record DecodedCaptureRequest(IReadOnlyList<string>? Interfaces = null, IReadOnlyList<string>? Mirrors = null,
    string? Filter = null, string? DisplayFilter = null, int? SnapLength = null, int? Count = null, int? Seconds = null);

/// <summary>A decoded capture: State running or ended (EndReason says why), Packets decoded rows kept, Bytes of pcapng captured.</summary>
public sealed record DecodedCaptureDto(Guid Id, Guid LabId, string State, IReadOnlyList<string> Interfaces, string? Filter,
    string? DisplayFilter, DateTimeOffset CreatedAt, int Packets, long Bytes, string? EndReason);

/// <summary>One packet as Wireshark's packet list shows it; Number is the frame number in the downloadable pcapng.</summary>
public sealed record DecodedPacketDto(int Number, DateTimeOffset Time, double Relative, string Interface, string Source,
    string Destination, string Protocol, int Length, string Info);

/// <summary>Rows of a decoded capture after a frame number, and the capture's state.</summary>
public sealed record DecodedPacketsDto(DecodedCaptureDto Capture, IReadOnlyList<DecodedPacketDto> Packets);

/// <summary>The protocol tree of one packet (tshark -V): text lines, indented by level.</summary>
public sealed record PacketTreeDto(int Number, IReadOnlyList<string> Lines);

/// <summary>The server's bounds on decoded captures (docs/security.md, "Captures").</summary>
public static class DecodedCaptureLimits
{
    /// <summary>Decoded rows one capture keeps; it ends when they are reached.</summary>
    public const int MaxPackets = 20_000;
    /// <summary>Bytes of packet data one decoded capture keeps (its file).</summary>
    public const long MaxBytes = 64L << 20;
    public const int MaxDisplayFilterLength = 1024;
    /// <summary>Decoded captures on one server at once (each is a tshark process).</summary>
    public const int MaxCaptures = 32;
    /// <summary>Rows one read returns at most.</summary>
    public const int MaxPageRows = 1000;
    /// <summary>A capture nobody reads for this long is stopped and deleted.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(5);
}
