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
/// groups from the database) and a ClaimsPrincipal. The tokens of a user an admin locked stop working at once; the
/// temporary lockout of password sign-in after wrong passwords leaves them working.
/// </summary>
internal sealed class TokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, LtbDbContext db)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>Writing "last used" on every request would turn every read into a write; a few minutes is precise enough.</summary>
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(5);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header) || !header.StartsWith(ApiTokens.Scheme + " ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }
        var secret = header[(ApiTokens.Scheme.Length + 1)..].Trim();
        var ct = Context.RequestAborted;
        var token = await ApiTokens.FindLiveAsync(db, secret, ct);
        if (token?.User is not { } user)
        {
            // Never log the presented secret.
            return AuthenticateResult.Fail("the token is unknown, revoked or expired");
        }
        // Only an admin's lock: the temporary lockout after wrong passwords bounds password sign-in, not existing tokens.
        if (Api.UserViews.IsDisabled(user))
        {
            return AuthenticateResult.Fail("the account is locked");
        }

        var roles = await db.UserRoles.Where(ur => ur.UserId == user.Id)
            .Join(db.Roles, ur => ur.RoleId, r => r.Id, (_, r) => r.Name!).ToListAsync(ct);
        var groups = await db.GroupMembers.Where(m => m.UserId == user.Id).Select(m => m.GroupId).ToListAsync(ct);
        var caller = new Caller(user.Id, user.UserName!, roles.ToHashSet(StringComparer.Ordinal), groups.ToHashSet(), token.Id);
        Context.Features.Set(caller);

        if (token.LastUsedAt is null || token.LastUsedAt < DateTimeOffset.UtcNow - LastUsedResolution)
        {
            var now = DateTimeOffset.UtcNow;
            await db.ApiTokens.Where(t => t.Id == token.Id).ExecuteUpdateAsync(s => s.SetProperty(t => t.LastUsedAt, now), ct);
        }

        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, user.Id.ToString()),
            new(ClaimTypes.Name, user.UserName!),
        };
        claims.AddRange(roles.Select(r => new Claim(ClaimTypes.Role, r)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        // The body (problem details) is written by the status-code-pages middleware, like every other error.
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers[HeaderNames.WWWAuthenticate] = ApiTokens.Scheme;
        return Task.CompletedTask;
    }
}
