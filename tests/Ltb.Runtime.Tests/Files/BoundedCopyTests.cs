using System.Security.Cryptography;
using Ltb.Runtime.Files;
using Ltb.Runtime.Tests.Support;

namespace Ltb.Runtime.Tests.Files;

/// <summary>The copy every untrusted byte stream goes through: its limit is exact, its error the caller's, its hash the input's.</summary>
public sealed class BoundedCopyTests
{
    [Fact]
    public async Task A_stream_of_exactly_the_limit_passes_whole_with_its_sha256()
    {
        var data = RandomNumberGenerator.GetBytes((2 << 20) + 12345);
        using var output = new MemoryStream();
        var copied = await BoundedCopy.CopyHashedAsync(new MemoryStream(data), output, data.Length, () => new InvalidDataException("too large"), TestLabs.Ct);
        Assert.Equal((long)data.Length, copied.Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), copied.Sha256);
        Assert.Equal(data, output.ToArray());
    }

    [Fact]
    public async Task The_byte_after_the_limit_fails_with_the_callers_error_before_the_rest_is_written()
    {
        var data = new byte[(3 << 20) + 1];
        using var output = new MemoryStream();
        var e = await Assert.ThrowsAsync<InvalidDataException>(() =>
            BoundedCopy.CopyAsync(new MemoryStream(data), output, 3 << 20, () => new InvalidDataException("the upload is too large"), TestLabs.Ct));
        Assert.Equal("the upload is too large", e.Message);
        Assert.True(output.Length <= 3 << 20, $"{output.Length} bytes were written past the limit");
    }
}
