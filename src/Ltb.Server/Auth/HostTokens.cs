using System.Security.Cryptography;
using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Auth;

/// <summary>
/// The credentials of `ltb agent`: "ltbh_" and 32 random bytes (base64url), stored as SHA-256 like API tokens, but a
/// different kind of secret: it signs in no user and opens only registration and heartbeats. Host tokens are checked
/// here and nowhere else.
/// </summary>
public static class HostTokens
{
    private const string Marker = "ltbh_";
    private const int PrefixLength = 13;

    public sealed record Issued(HostToken Token, string Secret);

    public static Issued Issue(LtbDbContext db, Guid createdBy, string name)
    {
        var secret = Marker + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var token = new HostToken
        {
            Id = Guid.NewGuid(), Name = name, Prefix = secret[..PrefixLength], Hash = ApiTokens.Hash(secret),
            CreatedById = createdBy, CreatedAt = DateTimeOffset.UtcNow,
        };
        db.HostTokens.Add(token);
        return new Issued(token, secret);
    }

    /// <summary>The live (not revoked) host token the request carries as its bearer token, tracked; or null.</summary>
    public static async Task<HostToken?> FromRequestAsync(LtbDbContext db, HttpContext http, CancellationToken ct)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer " + Marker, StringComparison.Ordinal) || header.Length > 120)
        {
            return null;
        }
        var hash = ApiTokens.Hash(header["Bearer ".Length..]);
        var token = await db.HostTokens.FirstOrDefaultAsync(t => t.Hash == hash, ct);
        return token is { RevokedAt: null } && CryptographicOperations.FixedTimeEquals(token.Hash, hash) ? token : null;
    }

    /// <summary>The secret the controller presents to an agent (given to the agent in the registration answer).</summary>
    public static string NewAgentSecret() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
