using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Ltb.Server.Auth;

/// <summary>
/// Single-use tickets that let the browser send or fetch a large body straight to or from the API (a VM image upload, a
/// snapshot archive's import or export) instead of through the Blazor circuit. The browser holds no token and the API
/// never looks at the cookie, so the page (signed in, on the server) asks for a ticket bound to one method and path and
/// hands the browser <c>PATH?transfer=TICKET</c>; <see cref="TokenAuthenticationHandler"/> redeems it as the session token
/// that asked (its hash only is kept: revoking the token or locking the user ends it as for any request). A ticket is 256
/// random bits, in memory only, valid for <see cref="Lifetime"/> to start the request, for one request; only the paths of
/// <see cref="Transfers"/> take one, so a leaked ticket cannot do anything else.
/// </summary>
public sealed partial class TransferTickets(TimeProvider clock)
{
    public const string QueryName = "transfer";

    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    /// <summary>Unused tickets one token may hold at once: issuing is cheap, memory is not unbounded.</summary>
    public const int MaxPerToken = 16;

    private readonly ConcurrentDictionary<string, Grant> _tickets = new(StringComparer.Ordinal);

    /// <summary>What may be done with a ticket: the bulk transfers, and nothing else.</summary>
    [GeneratedRegex(@"^(POST /api/v1/vm-images|POST /api/v1/snapshots/import|GET /api/v1/snapshots/[0-9a-fA-F-]{36}/export)$")]
    private static partial Regex Transfers();

    public static bool Allows(string method, string path) => Transfers().IsMatch($"{method.ToUpperInvariant()} {path.TrimEnd('/')}");

    /// <summary>A new ticket for <paramref name="method"/> <paramref name="path"/>, or null when the token holds too many unused ones.</summary>
    public (string Ticket, DateTimeOffset ExpiresAt)? Issue(byte[] tokenHash, string method, string path)
    {
        var now = clock.GetUtcNow();
        foreach (var (key, expired) in _tickets.Where(t => t.Value.ExpiresAt <= now))
        {
            _tickets.TryRemove(new KeyValuePair<string, Grant>(key, expired));
        }
        if (_tickets.Values.Count(t => t.TokenHash.AsSpan().SequenceEqual(tokenHash)) >= MaxPerToken)
        {
            return null;
        }
        var ticket = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var expiresAt = now + Lifetime;
        _tickets[ticket] = new Grant(tokenHash, method.ToUpperInvariant(), path.TrimEnd('/'), expiresAt);
        return (ticket, expiresAt);
    }

    /// <summary>The hash of the token that asked, once, when the ticket is live and was issued for this request; else null.</summary>
    public byte[]? Redeem(string ticket, string method, string path)
    {
        if (!_tickets.TryRemove(ticket, out var grant) || grant.ExpiresAt <= clock.GetUtcNow())
        {
            return null;
        }
        return string.Equals(grant.Method, method, StringComparison.OrdinalIgnoreCase) && string.Equals(grant.Path, path.TrimEnd('/'), StringComparison.Ordinal)
            ? grant.TokenHash
            : null;
    }

    private sealed record Grant(byte[] TokenHash, string Method, string Path, DateTimeOffset ExpiresAt);
}
