using Ltb.Server.Api;
using Ltb.Server.Audit;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Identity;

namespace Ltb.Server.Auth;

/// <summary>
/// The web UI's sign-in through the OpenID Connect provider ("Sign in with ..." on the sign-in page): the same flow as the
/// API's (OidcSignIn: the provider's callback, state, nonce and PKCE checked by ASP.NET's handler; the account linked by
/// subject, roles from the provider's groups), ending in the UI's session cookie (BrowserSessions) instead of a token in
/// JSON, on the page the user first asked for. The return address must be a path of this site, checked when the flow
/// starts and again when it ends (it travels inside the handler's protected state): no open redirect.
/// </summary>
public static class OidcBrowserSignIn
{
    public static IEndpointRouteBuilder MapOidcBrowserSignIn(this IEndpointRouteBuilder app)
    {
        app.MapGet(WebConventions.OidcSignInStart, Start).AllowAnonymous().RequireRateLimiting(RateLimits.Login).ExcludeFromDescription();
        app.MapGet(WebConventions.OidcSignInComplete, CompleteAsync).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static IResult Start(string? returnUrl, IDataProtectionProvider protection)
    {
        var back = string.IsNullOrEmpty(returnUrl) ? "/" : returnUrl;
        if (!BrowserSessions.IsLocal(back))
        {
            return BackToSignIn(protection, "/", "the address to return to after signing in is not a page of this site; " +
                "sign in from this page instead");
        }
        var complete = $"{WebConventions.OidcSignInComplete}?returnUrl={Uri.EscapeDataString(back)}";
        return Results.Challenge(new AuthenticationProperties { RedirectUri = complete }, [OidcSignIn.Scheme]);
    }

    private static async Task<IResult> CompleteAsync(string? returnUrl, HttpContext http, UserManager<LtbUser> users,
        LtbDbContext db, AuditLog audit, LtbServerOptions options, IDataProtectionProvider protection, CancellationToken ct)
    {
        var back = BrowserSessions.IsLocal(returnUrl) ? returnUrl! : "/";
        var (user, problem) = await OidcSignIn.AccountAfterProviderAsync(http, users, db, ct);
        if (user is null)
        {
            return BackToSignIn(protection, back, problem!.ProblemDetails.Detail ?? "signing in at the identity provider failed");
        }
        var issued = OidcSignIn.IssueSession(db, audit, options, user);
        await db.SaveChangesAsync(ct);
        var roles = await users.GetRolesAsync(user);
        var principal = BrowserSessions.PrincipalOf(user.Id, user.UserName!, roles, issued.Secret);
        await http.SignInAsync(BrowserSessions.Scheme, principal,
            new AuthenticationProperties { IsPersistent = true, ExpiresUtc = issued.Token.ExpiresAt });
        return Results.LocalRedirect(back);
    }

    /// <summary>The sign-in page with the server's message (protected, as the password form's errors are).</summary>
    private static IResult BackToSignIn(IDataProtectionProvider protection, string back, string message)
    {
        var error = protection.CreateProtector(WebConventions.SignInErrorPurpose).Protect(message);
        return Results.Redirect($"{WebConventions.SignInPage}?ReturnUrl={Uri.EscapeDataString(back)}&error={Uri.EscapeDataString(error)}");
    }
}
