using System.Security.Cryptography;
using System.Text;
using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Auth;

/// <summary>
/// Opaque bearer tokens: "ltb_" and 32 random bytes (base64url). The database keeps only their SHA-256: a random
/// 256-bit secret needs no slow hash, and a leaked database yields no usable token. Shown once, at creation.
/// </summary>
public static class ApiTokens
{
    public const string Scheme = "Bearer";
    private const string Marker = "ltb_";
    private const int PrefixLength = 12;

    public sealed record Issued(ApiToken Token, string Secret);

    /// <summary>Adds a new token to the context (saved by the caller, together with its audit entry).</summary>
    public static Issued Issue(LtbDbContext db, Guid userId, ApiTokenKind kind, string name, DateTimeOffset? expiresAt)
    {
        var secret = Marker + Base64Url(RandomNumberGenerator.GetBytes(32));
        var token = new ApiToken
        {
            Id = Guid.NewGuid(),
            UserId = userId,
            Kind = kind,
            Name = name,
            Prefix = secret[..PrefixLength],
            Hash = Hash(secret),
            CreatedAt = DateTimeOffset.UtcNow,
            ExpiresAt = expiresAt,
        };
        db.ApiTokens.Add(token);
        return new Issued(token, secret);
    }

    /// <summary>The live token with this secret, or null (unknown, revoked, expired, malformed).</summary>
    public static Task<ApiToken?> FindLiveAsync(LtbDbContext db, string secret, CancellationToken ct) =>
        HashOf(secret) is { } hash ? FindLiveAsync(db, hash, ct) : Task.FromResult<ApiToken?>(null);

    /// <summary>The hash of a well-formed secret; null for anything that cannot be a token.</summary>
    public static byte[]? HashOf(string secret) =>
        secret.StartsWith(Marker, StringComparison.Ordinal) && secret.Length <= 100 ? Hash(secret) : null;

    /// <summary>The live token with this hash (<see cref="HashOf"/>), or null.</summary>
    public static async Task<ApiToken?> FindLiveAsync(LtbDbContext db, byte[] hash, CancellationToken ct)
    {
        var token = await db.ApiTokens.AsNoTracking().Include(t => t.User).FirstOrDefaultAsync(t => t.Hash == hash, ct);
        // The lookup is by hash, so timing tells nothing about the secret; the fixed-time check is belt and braces.
        if (token is null || !CryptographicOperations.FixedTimeEquals(token.Hash, hash))
        {
            return null;
        }
        var now = DateTimeOffset.UtcNow;
        return token.RevokedAt is null && (token.ExpiresAt is null || token.ExpiresAt > now) ? token : null;
    }

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
