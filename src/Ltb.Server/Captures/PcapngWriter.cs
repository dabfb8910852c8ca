using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Ltb.Server.Captures;

/// <summary>
/// Writes a pcapng stream (little-endian, one section): the section header, an interface description per interface
/// (link type, snap length, <c>if_name</c>, nanosecond timestamps), enhanced packet blocks, and at the end an interface
/// statistics block per interface. Each block is built whole and written at once; the caller flushes.
/// Format: IETF draft-ietf-opsawg-pcapng.
/// </summary>
public sealed class PcapngWriter(Stream output)
{
    private const uint SectionHeaderType = 0x0A0D0D0A;
    private const uint InterfaceDescriptionType = 1;
    private const uint InterfaceStatisticsType = 5;
    private const uint EnhancedPacketType = 6;
    private const ushort OptComment = 1;
    private const ushort ShbUserApplication = 4;
    private const ushort IfName = 2;
    private const ushort IfTimestampResolution = 9;
    private const ushort IsbEndTime = 3;
    private const ushort IsbIfDrop = 5;
    private const ushort IsbUserDelivered = 8;

    public ValueTask WriteSectionHeaderAsync(string application, CancellationToken ct)
    {
        var body = new BlockBody();
        body.U32(0x1A2B3C4D).U16(1).U16(0).U64(ulong.MaxValue);
        body.Option(ShbUserApplication, Encoding.UTF8.GetBytes(application)).EndOptions();
        return WriteBlockAsync(SectionHeaderType, body, ct);
    }

    /// <summary>Describes the next interface (ids count from 0 in the order described).</summary>
    public ValueTask WriteInterfaceAsync(string name, uint linkType, uint snapLength, CancellationToken ct)
    {
        var body = new BlockBody();
        body.U16((ushort)linkType).U16(0).U32(snapLength);
        body.Option(IfName, Encoding.UTF8.GetBytes(name)).Option(IfTimestampResolution, [9]).EndOptions();
        return WriteBlockAsync(InterfaceDescriptionType, body, ct);
    }

    public ValueTask WritePacketAsync(int interfaceId, CapturedPacket packet, CancellationToken ct)
    {
        var body = new BlockBody();
        body.U32((uint)interfaceId).Timestamp(packet.TimestampNs).U32((uint)packet.Data.Length).U32(packet.OriginalLength);
        body.Padded(packet.Data);
        return WriteBlockAsync(EnhancedPacketType, body, ct);
    }

    /// <summary>The end of one interface's capture for this reader: packets delivered to it and those it lost, with why.</summary>
    public ValueTask WriteStatisticsAsync(int interfaceId, long endNs, ulong delivered, ulong dropped, string comment, CancellationToken ct)
    {
        var body = new BlockBody();
        body.U32((uint)interfaceId).Timestamp(endNs);
        body.Option(IsbEndTime, Timestamp(endNs)).Option(IsbIfDrop, U64(dropped)).Option(IsbUserDelivered, U64(delivered))
            .Option(OptComment, Encoding.UTF8.GetBytes(comment)).EndOptions();
        return WriteBlockAsync(InterfaceStatisticsType, body, ct);
    }

    private ValueTask WriteBlockAsync(uint type, BlockBody body, CancellationToken ct)
    {
        var total = 12 + body.Length;
        var block = new byte[total];
        BinaryPrimitives.WriteUInt32LittleEndian(block, type);
        BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(4), (uint)total);
        body.CopyTo(block.AsSpan(8));
        BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(total - 4), (uint)total);
        return output.WriteAsync(block, ct);
    }

    private static byte[] U64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return b;
    }

    private static byte[] Timestamp(long ns) => new BlockBody().Timestamp(ns).ToArray();

    /// <summary>A block's body, 32-bit aligned as pcapng wants every field and option.</summary>
    private sealed class BlockBody
    {
        private readonly ArrayBufferWriter<byte> _bytes = new(256);

        public int Length => _bytes.WrittenCount;

        public BlockBody U16(ushort v)
        {
            Span<byte> b = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(b, v);
            _bytes.Write(b);
            return this;
        }

        public BlockBody U32(uint v)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, v);
            _bytes.Write(b);
            return this;
        }

        /// <summary>Little-endian like everything here: the low 32 bits first.</summary>
        public BlockBody U64(ulong v) => U32((uint)v).U32((uint)(v >> 32));

        /// <summary>A timestamp in the interface's unit (nanoseconds: if_tsresol 9), high 32 bits first.</summary>
        public BlockBody Timestamp(long ns) => U32((uint)((ulong)ns >> 32)).U32((uint)ns);

        public BlockBody Padded(ReadOnlySpan<byte> data)
        {
            _bytes.Write(data);
            var pad = (4 - data.Length % 4) % 4;
            _bytes.Write(new byte[pad]);
            return this;
        }

        public BlockBody Option(ushort code, ReadOnlySpan<byte> value) => U16(code).U16((ushort)value.Length).Padded(value);

        public BlockBody EndOptions() => U16(0).U16(0);

        public byte[] ToArray() => _bytes.WrittenSpan.ToArray();

        public void CopyTo(Span<byte> target) => _bytes.WrittenSpan.CopyTo(target);
    }
}
