using System.Collections;
using Ltb.Contracts;

namespace Ltb.Web.Components;

/// <summary>
/// The rows a capture tab shows: the newest <see cref="Shown"/> at most (a capture keeps up to 20,000 rows on the server;
/// the browser shows the tail, and the pcapng has them all), in frame order, each frame once.
/// </summary>
public sealed class PacketList(int capacity) : IEnumerable<DecodedPacketDto>
{
    public const int Shown = 500;

    private readonly LinkedList<DecodedPacketDto> _rows = new();

    public int Count => _rows.Count;

    public void Add(IEnumerable<DecodedPacketDto> packets)
    {
        foreach (var p in packets)
        {
            if (_rows.Last is { } last && p.Number <= last.Value.Number)
            {
                continue; // a row the page already has (a repeated long poll)
            }
            _rows.AddLast(p);
            if (_rows.Count > capacity)
            {
                _rows.RemoveFirst();
            }
        }
    }

    public void Clear() => _rows.Clear();

    public IEnumerator<DecodedPacketDto> GetEnumerator() => _rows.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>How a user opens a lab's interface elsewhere: the CLI's live capture into Wireshark, and the download's name.</summary>
public static class CaptureCommands
{
    /// <summary>Lab and interface names are restricted to letters, digits and -_.@: (the API validates them), so no quoting.</summary>
    public static string Wireshark(string lab, string endpoint) => $"ltb capture {lab} {endpoint} -w - | wireshark -k -i -";

    public static string FileName(string lab, string endpoint) => $"{lab}-{endpoint.Replace(':', '-')}.pcapng";
}
