using System.Buffers.Binary;
using System.Text;

namespace Ltb.Client;

/// <summary>A block of a pcapng stream, as far as a summary needs it.</summary>
public abstract record PcapngBlock;

/// <summary>An interface description: its id is its position among them; <c>if_name</c> as given (LTB: LAB/NODE:IFACE).</summary>
public sealed record PcapngInterface(int Id, string Name, ushort LinkType) : PcapngBlock;

/// <summary>A packet: which interface, when (UTC), its length on the wire and how much of it was kept.</summary>
public sealed record PcapngPacket(int InterfaceId, DateTimeOffset Time, uint OriginalLength, byte[] Data) : PcapngBlock;

/// <summary>An interface's statistics at the end: packets dropped (isb_ifdrop) and the comment (LTB says why it ended).</summary>
public sealed record PcapngStatistics(int InterfaceId, ulong? Dropped, string? Comment) : PcapngBlock;

/// <summary>
/// Reads the pcapng stream of a live capture block by block as it arrives (little-endian sections, as LTB writes them).
/// Bounded: a block larger than 16 MiB is refused. Blocks it does not need are skipped.
/// </summary>
public sealed class PcapngReader(Stream input)
{
    private const int MaxBlockBytes = 16 << 20;
    private readonly List<long> _unitsPerSecond = [];

    public async IAsyncEnumerable<PcapngBlock> ReadAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var head = new byte[8];
        while (await FillAsync(head, ct))
        {
            var type = BinaryPrimitives.ReadUInt32LittleEndian(head);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(4));
            if (length < 12 || length > MaxBlockBytes || length % 4 != 0)
            {
                throw new InvalidDataException($"a pcapng block of {length} bytes");
            }
            var body = new byte[length - 8];
            if (!await FillAsync(body, ct))
            {
                yield break;
            }
            if (Parse(type, body.AsSpan(0, body.Length - 4)) is { } block)
            {
                yield return block;
            }
        }
    }

    private PcapngBlock? Parse(uint type, ReadOnlySpan<byte> body)
    {
        switch (type)
        {
            case 0x0A0D0D0A:
                if (BinaryPrimitives.ReadUInt32LittleEndian(body) != 0x1A2B3C4D)
                {
                    throw new InvalidDataException("a big-endian pcapng section (LTB writes little-endian)");
                }
                _unitsPerSecond.Clear();
                return null;
            case 1:
                var options = Options(body[8..]);
                var resolution = options.TryGetValue(9, out var r) && r.Length > 0 ? r[0] : (byte)6;
                _unitsPerSecond.Add((resolution & 0x80) != 0 ? 1L << (resolution & 0x7f) : (long)Math.Pow(10, resolution));
                var name = options.TryGetValue(2, out var n) ? Encoding.UTF8.GetString(n) : $"interface {_unitsPerSecond.Count - 1}";
                return new PcapngInterface(_unitsPerSecond.Count - 1, name, BinaryPrimitives.ReadUInt16LittleEndian(body));
            case 6:
                var id = (int)BinaryPrimitives.ReadUInt32LittleEndian(body);
                var units = ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(body[4..]) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(body[8..]);
                var captured = (int)BinaryPrimitives.ReadUInt32LittleEndian(body[12..]);
                var perSecond = id < _unitsPerSecond.Count ? _unitsPerSecond[id] : 1_000_000;
                var ticks = (long)(units / (ulong)perSecond) * TimeSpan.TicksPerSecond + (long)(units % (ulong)perSecond) * TimeSpan.TicksPerSecond / perSecond;
                return new PcapngPacket(id, DateTimeOffset.UnixEpoch.AddTicks(ticks), BinaryPrimitives.ReadUInt32LittleEndian(body[16..]),
                    body.Slice(20, captured).ToArray());
            case 5:
                var stats = Options(body[12..]);
                return new PcapngStatistics((int)BinaryPrimitives.ReadUInt32LittleEndian(body),
                    stats.TryGetValue(5, out var d) && d.Length == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(d) : null,
                    stats.TryGetValue(1, out var c) ? Encoding.UTF8.GetString(c) : null);
            default:
                return null;
        }
    }

    private static Dictionary<ushort, byte[]> Options(ReadOnlySpan<byte> options)
    {
        var found = new Dictionary<ushort, byte[]>();
        while (options.Length >= 4)
        {
            var code = BinaryPrimitives.ReadUInt16LittleEndian(options);
            var length = BinaryPrimitives.ReadUInt16LittleEndian(options[2..]);
            if (code == 0 || 4 + length > options.Length)
            {
                break;
            }
            found.TryAdd(code, options.Slice(4, length).ToArray());
            options = options[(4 + (length + 3) / 4 * 4)..];
        }
        return found;
    }

    /// <summary>Fills the buffer; false at the end of the stream before its first byte (a stream cut inside a block ends too).</summary>
    private async Task<bool> FillAsync(byte[] buffer, CancellationToken ct)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await input.ReadAsync(buffer.AsMemory(read), ct);
            if (n == 0)
            {
                return false;
            }
            read += n;
        }
        return true;
    }
}
