namespace Ltb.Web;

/// <summary>
/// The addresses and names the UI and the server's browser sign-in share (Ltb.Server's Auth/BrowserSessions.cs
/// implements the cookie side; the pages only read the claims).
/// </summary>
public static class WebConventions
{
    /// <summary>The sign-in page (static server rendering: a plain form with an antiforgery token).</summary>
    public const string SignInPage = "/signin";

    /// <summary>The form posts of sign-in and sign-out (server endpoints, antiforgery-checked).</summary>
    public const string SignInPost = "/account/signin";

    public const string SignOutPost = "/account/signout";

    /// <summary>
    /// The browser's sign-in through the OpenID Connect provider (when one is configured): GET with ?returnUrl= (a path of
    /// this site) starts it; the provider's answer comes back through the API's callback to the completion, which sets the
    /// session cookie and returns to that path.
    /// </summary>
    public const string OidcSignInStart = "/account/oidc";

    public const string OidcSignInComplete = "/account/oidc/complete";

    /// <summary>Where a signed-in user lands who may not open a page (a student on an admin page).</summary>
    public const string DeniedPage = "/denied";

    /// <summary>
    /// The claim of the cookie that holds the session's API token: the pages call the API with it (the cookie is
    /// encrypted by ASP.NET Core data protection and HttpOnly, so the browser's scripts never see it).
    /// </summary>
    public const string TokenClaim = "ltb:token";

    /// <summary>
    /// The data-protection purpose of the sign-in error the server sends back to the page (?error=...): protected, so the
    /// page shows only messages the server wrote, never text a link put into the address.
    /// </summary>
    public const string SignInErrorPurpose = "Ltb.Web.SignInError";

    /// <summary>Hangfire's read-only dashboard of the lab task jobs (admins; the Tasks page links it).</summary>
    public const string JobsDashboard = "/admin/jobs";

    /// <summary>The prefixes the UI does not own: the API and the server's other machine endpoints keep bearer tokens.</summary>
    public static readonly string[] ApiPrefixes = ["/api", JobsDashboard, "/metrics", "/openapi", "/docs", "/healthz", "/readyz"];

    /// <summary>True for requests the browser UI serves (and the cookie authenticates).</summary>
    public static bool IsUiPath(Microsoft.AspNetCore.Http.PathString path) =>
        !ApiPrefixes.Any(p => path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));
}
