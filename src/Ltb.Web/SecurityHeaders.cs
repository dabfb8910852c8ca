using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Ltb.Web;

/// <summary>
/// The browser-facing security headers, in one place (docs/security.md, "Web UI"). Every response says nosniff and sends
/// no full referrer; the UI's responses (not the API's, the Scalar docs' or the jobs dashboard's, which are no pages of
/// ours) also carry the Content-Security-Policy below and refuse to be framed.
/// </summary>
public static class SecurityHeaders
{
    /// <summary>
    /// The UI's Content-Security-Policy. Every directive and why:
    /// - default-src 'self': nothing from another origin (the bundle, MudBlazor and blazor.web.js are served by us).
    /// - script-src 'self': no inline script and no eval: Blazor Server needs neither ('unsafe-eval' is for WebAssembly),
    ///   App.razor has no inline script, and the bundle (xterm.js, cytoscape.js, CodeMirror 6) uses no eval.
    /// - style-src 'self' 'unsafe-inline': MudBlazor writes style="..." attributes on its components and its theme provider
    ///   emits a &lt;style&gt; element of CSS variables; CodeMirror and xterm.js insert their own &lt;style&gt; elements at run
    ///   time. None of them can take a nonce, so inline styles stay allowed; inline styles cannot run script.
    /// - img-src 'self' data:: the page's empty icon (href="data:,") and the data: images in MudBlazor's stylesheet.
    /// - connect-src 'self': Blazor's hub and the console/capture WebSockets are on this origin; CSP Level 3's 'self'
    ///   matches ws:/wss: of the same host and port (chromium does; the UI tests would not become interactive otherwise).
    /// - object-src 'none', base-uri 'self', form-action 'self': no plugins, no &lt;base&gt; or form posts elsewhere.
    /// - frame-ancestors 'none' (and X-Frame-Options for old browsers): no other page may frame the UI (clickjacking).
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
        "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>Before everything that writes a response (static files included), so every answer carries them.</summary>
    public static IApplicationBuilder UseLtbSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "strict-origin-when-cross-origin";
            if (WebConventions.IsUiPath(context.Request.Path))
            {
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XFrameOptions = "DENY";
            }
            return Task.CompletedTask;
        });
        return next(context);
    });
}
