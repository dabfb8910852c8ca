using System.Buffers.Binary;

namespace Ltb.Server.Captures;

/// <summary>A pcap stream's global header: the link type and snap length of its interface, and its timestamps' unit.</summary>
public sealed record PcapHeader(uint LinkType, uint SnapLength, bool Nanoseconds);

/// <summary>One captured packet: when (nanoseconds since the Unix epoch), its length on the wire, and the bytes kept.</summary>
public sealed record CapturedPacket(long TimestampNs, uint OriginalLength, byte[] Data);

/// <summary>
/// Reads tcpdump's pcap output (<c>-w -</c>) incrementally from the pieces it arrives in: the global header once, then
/// each record as soon as all its bytes are there. Bounded: it holds at most one record (the largest snap length).
/// Both byte orders and both timestamp units (micro- and nanoseconds) are read.
/// </summary>
public sealed class PcapStream
{
    private const int GlobalHeaderBytes = 24;
    private const int RecordHeaderBytes = 16;
    private const int MaxRecordBytes = RecordHeaderBytes + Ltb.Contracts.CaptureLimits.MaxSnapLength;
    private byte[] _buffer = new byte[64 * 1024];
    private int _length;
    private bool _bigEndian;

    public PcapHeader? Header { get; private set; }

    /// <summary>Takes the next piece of the stream and returns the packets it completed.</summary>
    public List<CapturedPacket> Feed(ReadOnlySpan<byte> data)
    {
        var packets = new List<CapturedPacket>();
        while (!data.IsEmpty)
        {
            var take = Math.Min(data.Length, _buffer.Length - _length);
            if (take == 0)
            {
                Grow();
                continue;
            }
            data[..take].CopyTo(_buffer.AsSpan(_length));
            _length += take;
            data = data[take..];
            Parse(packets);
        }
        return packets;
    }

    private void Parse(List<CapturedPacket> packets)
    {
        var offset = 0;
        if (Header is null)
        {
            if (_length < GlobalHeaderBytes)
            {
                return;
            }
            Header = ReadHeader(_buffer.AsSpan(0, GlobalHeaderBytes));
            offset = GlobalHeaderBytes;
        }
        while (_length - offset >= RecordHeaderBytes)
        {
            var record = _buffer.AsSpan(offset, RecordHeaderBytes);
            var seconds = U32(record);
            var fraction = U32(record[4..]);
            var captured = U32(record[8..]);
            var original = U32(record[12..]);
            if (captured > Ltb.Contracts.CaptureLimits.MaxSnapLength)
            {
                throw new InvalidDataException($"a pcap record of {captured} bytes: more than any snap length");
            }
            if (_length - offset - RecordHeaderBytes < captured)
            {
                break;
            }
            var ns = (long)seconds * 1_000_000_000 + (Header.Nanoseconds ? fraction : fraction * 1000L);
            packets.Add(new CapturedPacket(ns, original, _buffer.AsSpan(offset + RecordHeaderBytes, (int)captured).ToArray()));
            offset += RecordHeaderBytes + (int)captured;
        }
        // The unfinished rest moves to the front.
        _buffer.AsSpan(offset, _length - offset).CopyTo(_buffer);
        _length -= offset;
    }

    private void Grow()
    {
        if (_buffer.Length >= MaxRecordBytes + GlobalHeaderBytes)
        {
            throw new InvalidDataException("a pcap record larger than any snap length");
        }
        Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxRecordBytes + GlobalHeaderBytes));
    }

    private PcapHeader ReadHeader(ReadOnlySpan<byte> header)
    {
        var magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        (_bigEndian, var nanoseconds) = magic switch
        {
            0xa1b2c3d4 => (false, false),
            0xa1b23c4d => (false, true),
            0xd4c3b2a1 => (true, false),
            0x4d3cb2a1 => (true, true),
            _ => throw new InvalidDataException($"not a pcap stream (magic 0x{magic:x8})"),
        };
        return new PcapHeader(U32(header[20..]), U32(header[16..]), nanoseconds);
    }

    private uint U32(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);
}
