using System.Security.Claims;
using Ltb.Server.Api;
using Ltb.Server.Audit;
using Ltb.Server.Caching;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;

namespace Ltb.Server.Auth;

/// <summary>
/// The web UI's sign-in: a cookie beside the API's bearer tokens. Signing in through the form checks the password exactly
/// like POST /api/v1/auth/login (the same handler: lockout, delay, audit, rate limit per address) and issues the same
/// session token; the cookie (encrypted, HttpOnly, SameSite=Lax) holds it, so the session is a token like the CLI's:
/// revoking it, signing out, locking the user or a password change ends it at the next request, and the pages call the API
/// with it (Ltb.Web's UiSession). The cookie authenticates the UI's paths only: under /api a cookie is never looked at,
/// so the API needs no CSRF defence; the UI's own form posts (sign-in, sign-out) carry antiforgery tokens.
/// </summary>
public static class BrowserSessions
{
    public const string Scheme = "ltb-browser";

    /// <summary>The default scheme: the cookie for the UI's paths, the bearer token (and the gateway's scheme) elsewhere.</summary>
    public const string DefaultScheme = "ltb";

    private const string SessionCookie = "ltb.session";

    public static AuthenticationBuilder AddLtbBrowserSessions(this AuthenticationBuilder auth, LtbServerOptions options) => auth
        // A page is only ever rendered for the cookie (its calls need the cookie's token); a bearer token is the API's.
        .AddPolicyScheme(DefaultScheme, "LTB", o => o.ForwardDefaultSelector = c =>
            WebConventions.IsUiPath(c.Request.Path) || IsJobsDashboardInBrowser(c.Request) ? Scheme : ApiTokens.Scheme)
        .AddCookie(Scheme, o =>
        {
            o.Cookie.Name = SessionCookie;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            // HTTPS when the request came over HTTPS (directly or through a trusted proxy); plain HTTP on loopback works.
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.LoginPath = WebConventions.SignInPage;
            o.AccessDeniedPath = WebConventions.DeniedPage;
            o.ExpireTimeSpan = options.SessionLifetime;
            o.SlidingExpiration = false;
            o.Events.OnValidatePrincipal = ValidateAsync;
        });

    /// <summary>
    /// The jobs dashboard (/admin/jobs, read-only) opened from the admin UI's Tasks page: a browser that sends the session
    /// cookie and no bearer token is signed in by the cookie (still admins only: the endpoint's policy). Safe without
    /// antiforgery because the dashboard changes nothing and the cookie is SameSite=Lax (no cross-site POST carries it);
    /// without the cookie the bearer scheme answers as before (401 for anonymous).
    /// </summary>
    private static bool IsJobsDashboardInBrowser(HttpRequest request) =>
        request.Path.StartsWithSegments(WebConventions.JobsDashboard, StringComparison.OrdinalIgnoreCase)
        && request.Headers.Authorization.Count == 0 && request.Cookies.ContainsKey(SessionCookie);

    public static IEndpointRouteBuilder MapBrowserSignIn(this IEndpointRouteBuilder app)
    {
        app.MapPost(WebConventions.SignInPost, SignInAsync).AllowAnonymous().RequireRateLimiting(RateLimits.Login).ExcludeFromDescription();
        app.MapPost(WebConventions.SignOutPost, SignOutAsync).ExcludeFromDescription();
        return app;
    }

    /// <summary>Every request with the cookie: its token must still be live and its user unlocked; roles follow the database.</summary>
    private static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var http = context.HttpContext;
        var secret = context.Principal?.FindFirstValue(WebConventions.TokenClaim);
        var hash = secret is null ? null : ApiTokens.HashOf(secret);
        var resolved = hash is null ? null : await TokenAuthenticationHandler.LookupAsync(
            http.RequestServices.GetRequiredService<LtbDbContext>(), http.RequestServices.GetRequiredService<CallerCache>(), hash, http.RequestAborted);
        if (resolved is null || resolved.Caller.UserId == Guid.Empty)
        {
            context.RejectPrincipal();
            await http.SignOutAsync(Scheme);
            return;
        }
        var caller = resolved.Caller;
        http.Features.Set(caller);
        var roles = context.Principal!.FindAll(ClaimTypes.Role).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        if (!roles.SetEquals(caller.Roles))
        {
            context.ReplacePrincipal(PrincipalOf(caller.UserId, caller.UserName, caller.Roles, secret!));
            context.ShouldRenew = true;
        }
    }

    private static async Task<IResult> SignInAsync([FromForm] string? userName, [FromForm] string? password, [FromForm] string? returnUrl,
        HttpContext http, UserManager<LtbUser> users, LtbDbContext db, AuditLog audit, LtbServerOptions options,
        IDataProtectionProvider protection, CancellationToken ct)
    {
        var back = IsLocal(returnUrl) ? returnUrl! : "/";
        var answer = await AuthEndpoints.LoginAsync(new LoginRequest(userName ?? "", password ?? ""), users, db, audit, options, ct);
        if (answer.Result is not Ok<LoginResponse> { Value: { } login })
        {
            var message = answer.Result switch
            {
                ProblemHttpResult p => p.ProblemDetails.Detail ?? "sign-in failed",
                _ => "enter your user name and password",
            };
            var error = protection.CreateProtector(WebConventions.SignInErrorPurpose).Protect(message);
            return Results.Redirect($"{WebConventions.SignInPage}?ReturnUrl={Uri.EscapeDataString(back)}&error={Uri.EscapeDataString(error)}" +
                $"&user={Uri.EscapeDataString(userName ?? "")}");
        }
        var principal = PrincipalOf(login.User.Id, login.User.UserName, login.User.Roles, login.Token);
        await http.SignInAsync(Scheme, principal, new AuthenticationProperties { IsPersistent = true, ExpiresUtc = login.ExpiresAt });
        return Results.LocalRedirect(back);
    }

    /// <summary>Revokes the session's token (as POST /api/v1/auth/logout does) and drops the cookie.</summary>
    private static async Task<IResult> SignOutAsync(HttpContext http, LtbDbContext db, AuditLog audit, ChangeSignals changes, CancellationToken ct)
    {
        if (http.Features.Get<Caller>() is { } caller)
        {
            await AuthEndpoints.LogoutAsync(caller, db, audit, changes, ct);
        }
        await http.SignOutAsync(Scheme);
        return Results.Redirect(WebConventions.SignInPage);
    }

    internal static ClaimsPrincipal PrincipalOf(Guid id, string name, IEnumerable<string> roles, string token)
    {
        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, id.ToString()), new(ClaimTypes.Name, name), new(WebConventions.TokenClaim, token) };
        claims.AddRange(roles.Select(r => new Claim(ClaimTypes.Role, r)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme));
    }

    /// <summary>Only a path of this site: "/x" but not "//host" or "/\host" (an open redirect).</summary>
    internal static bool IsLocal(string? url) =>
        !string.IsNullOrEmpty(url) && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'));
}
