using Google.Protobuf;
using Grpc.Core;
using Ltb.Agent.Grpc;

namespace Ltb.Agent.Remote;

/// <summary>
/// The data parts of a client stream (a file the controller sends: <see cref="VmImagePart"/>, <see cref="LabFilesPart"/>),
/// read as a stream, never more than one part held.
/// </summary>
internal sealed class PartStream<T>(IAsyncStreamReader<T> parts, Func<T, ByteString> data, CancellationToken ct) : Stream
{
    private ReadOnlyMemory<byte> _current;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_current.IsEmpty)
        {
            if (!await parts.MoveNext(ct))
            {
                return 0;
            }
            _current = data(parts.Current).Memory;
        }
        var n = Math.Min(buffer.Length, _current.Length);
        _current[..n].CopyTo(buffer);
        _current = _current[n..];
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("read asynchronously");
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
