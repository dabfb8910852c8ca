using System.Security.Claims;
using System.Text.Encodings.Web;
using Ltb.Server.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Ltb.Server.Auth;

/// <summary>
/// "Authorization: Bearer ltb_..." for login-issued and personal tokens alike. Builds the <see cref="Caller"/> (roles and
/// groups from the database, or from <see cref="CallerCache"/> while nothing changed) and a ClaimsPrincipal. The tokens of a
/// user an admin locked stop working at once; the temporary lockout of password sign-in after wrong passwords leaves them
/// working.
/// </summary>
internal sealed class TokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, LtbDbContext db,
    CallerCache callers, TransferTickets transfers)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>Writing "last used" on every request would turn every read into a write; a few minutes is precise enough.</summary>
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(5);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        byte[]? hash;
        if (!string.IsNullOrEmpty(header) && header.StartsWith(ApiTokens.Scheme + " ", StringComparison.OrdinalIgnoreCase))
        {
            hash = ApiTokens.HashOf(header[(ApiTokens.Scheme.Length + 1)..].Trim());
        }
        else if (string.IsNullOrEmpty(header) && Request.Query[TransferTickets.QueryName] is [{ } ticket]
                 && TransferTickets.Allows(Request.Method, Request.Path))
        {
            // The browser's bulk transfer (TransferTickets): the ticket stands for the session token that asked for it.
            hash = transfers.Redeem(ticket, Request.Method, Request.Path);
            if (hash is null)
            {
                return AuthenticateResult.Fail("the transfer ticket is unknown, used or expired: start the transfer again");
            }
        }
        else
        {
            return AuthenticateResult.NoResult();
        }
        var ct = Context.RequestAborted;
        var resolved = hash is null ? null : await LookupAsync(db, callers, hash, ct);
        if (resolved is null)
        {
            // Never log the presented secret.
            return AuthenticateResult.Fail("the token is unknown, revoked or expired");
        }
        if (resolved.Caller.UserId == Guid.Empty)
        {
            return AuthenticateResult.Fail("the account is locked");
        }
        var caller = resolved.Caller;
        Context.Features.Set(caller);
        await TouchAsync(hash!, resolved, ct);

        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, caller.UserId.ToString()),
            new(ClaimTypes.Name, caller.UserName),
        };
        claims.AddRange(caller.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }

    /// <summary>
    /// The token's caller, from the cache or the database (null: unknown, revoked, expired; a caller with an empty id:
    /// locked). The browser's cookie session (<see cref="BrowserSessions"/>) asks the same question of the token it holds.
    /// </summary>
    internal static async Task<CallerCache.Resolved?> LookupAsync(LtbDbContext db, CallerCache callers, byte[] hash, CancellationToken ct) =>
        callers.TryGet(hash, out var cached) ? cached : await ResolveAsync(db, callers, hash, ct);

    /// <summary>The token's caller from the database, cached unless an invalidation came while it was read.</summary>
    private static async Task<CallerCache.Resolved?> ResolveAsync(LtbDbContext db, CallerCache callers, byte[] hash, CancellationToken ct)
    {
        var generation = callers.Generation;
        var token = await ApiTokens.FindLiveAsync(db, hash, ct);
        if (token?.User is not { } user)
        {
            return null;
        }
        // Only an admin's lock: the temporary lockout after wrong passwords bounds password sign-in, not existing tokens.
        if (Api.UserViews.IsDisabled(user))
        {
            return new CallerCache.Resolved(new Caller(Guid.Empty, "", new HashSet<string>(), new HashSet<Guid>(), token.Id), null, null);
        }
        var caller = await Caller.LoadAsync(db, user, token.Id, ct);
        var resolved = new CallerCache.Resolved(caller, token.ExpiresAt, token.LastUsedAt);
        callers.Set(hash, resolved, generation);
        return resolved;
    }

    /// <summary>Notes when the token was last used, at most every <see cref="LastUsedResolution"/>.</summary>
    private async Task TouchAsync(byte[] hash, CallerCache.Resolved resolved, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        if (resolved.LastUsedAt is { } last && last >= now - LastUsedResolution)
        {
            return;
        }
        var generation = callers.Generation;
        var tokenId = resolved.Caller.TokenId;
        await db.ApiTokens.Where(t => t.Id == tokenId).ExecuteUpdateAsync(s => s.SetProperty(t => t.LastUsedAt, now), ct);
        callers.Set(hash, resolved with { LastUsedAt = now }, generation);
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        // The body (problem details) is written by the status-code-pages middleware, like every other error.
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers[HeaderNames.WWWAuthenticate] = ApiTokens.Scheme;
        return Task.CompletedTask;
    }
}
