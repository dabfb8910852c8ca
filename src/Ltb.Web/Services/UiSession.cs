using System.Security.Claims;
using Ltb.Client;
using Microsoft.AspNetCore.Components.Authorization;

namespace Ltb.Web.Services;

/// <summary>
/// The signed-in user of one circuit (or one static render): who they are, and their API client (the session token of
/// the cookie, <see cref="WebConventions.TokenClaim"/>). Scoped: one per circuit.
/// </summary>
public sealed class UiSession(AuthenticationStateProvider authentication, LoopbackApi loopback) : IDisposable
{
    private HttpClient? _http;
    private LtbApiClient? _api;
    private ClaimsPrincipal? _user;

    public async Task<ClaimsPrincipal> UserAsync() => _user ??= (await authentication.GetAuthenticationStateAsync()).User;

    public async Task<string> UserNameAsync() => (await UserAsync()).Identity?.Name ?? "";

    public async Task<bool> IsAdminAsync() => (await UserAsync()).IsInRole("admin");

    /// <summary>The API client of the signed-in user; throws when the page is rendered without a session.</summary>
    public async Task<LtbApiClient> ApiAsync()
    {
        if (_api is not null)
        {
            return _api;
        }
        var token = (await UserAsync()).FindFirstValue(WebConventions.TokenClaim)
            ?? throw new InvalidOperationException("not signed in");
        _http = loopback.CreateHttpClient(token);
        return _api = new LtbApiClient(_http) { SignInHint = "sign in again" };
    }

    public void Dispose()
    {
        _api?.Dispose();
        _http?.Dispose();
    }
}
