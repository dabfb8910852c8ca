using System.Security.Cryptography;

namespace Ltb.Runtime.Files;

/// <summary>What <see cref="BoundedCopy.CopyHashedAsync"/> passed through: its length and SHA-256 (lower-case hex).</summary>
public readonly record struct CopiedBytes(long Length, string Sha256);

/// <summary>
/// Copies a stream from a user, a peer or a guest (an upload, an archive member, a RAM state) into a file without
/// trusting its announced size: the copy fails with the caller's own error as soon as more than the limit has come,
/// not after the disk has filled.
/// </summary>
public static class BoundedCopy
{
    private const int BufferBytes = 1 << 20;

    /// <summary>Copies until the end of <paramref name="input"/>; the byte after <paramref name="limit"/> throws <paramref name="tooLarge"/>'s error.</summary>
    public static async Task<long> CopyAsync(Stream input, Stream output, long limit, Func<Exception> tooLarge, CancellationToken ct) =>
        await CopyAsync(input, output, limit, tooLarge, hash: null, ct);

    /// <summary>As <see cref="CopyAsync(Stream, Stream, long, Func{Exception}, CancellationToken)"/>, hashing what passes.</summary>
    public static async Task<CopiedBytes> CopyHashedAsync(Stream input, Stream output, long limit, Func<Exception> tooLarge, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var length = await CopyAsync(input, output, limit, tooLarge, hash, ct);
        return new CopiedBytes(length, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private static async Task<long> CopyAsync(Stream input, Stream output, long limit, Func<Exception> tooLarge, IncrementalHash? hash, CancellationToken ct)
    {
        var buffer = new byte[BufferBytes];
        long total = 0;
        int n;
        while ((n = await input.ReadAsync(buffer, ct)) > 0)
        {
            total += n;
            if (total > limit)
            {
                throw tooLarge();
            }
            hash?.AppendData(buffer, 0, n);
            await output.WriteAsync(buffer.AsMemory(0, n), ct);
        }
        return total;
    }
}
