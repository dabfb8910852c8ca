using System.Net;
using System.Net.Http.Json;
using Ltb.Server.Api;
using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Api;

/// <summary>A server behind a proxy on loopback (the tests' own address), with a login limit small enough to reach.</summary>
public sealed class ProxiedServer : SqliteServer
{
    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        options.TrustedProxies.Add("127.0.0.0/8");
        options.LoginPermitsPerMinute = 3;
    }
}

/// <summary>A server that trusts a proxy at another address: the tests' requests come from an unnamed address.</summary>
public sealed class ElsewhereProxiedServer : SqliteServer
{
    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        options.TrustedProxies.Add("10.9.9.9");
        options.LoginPermitsPerMinute = 3;
    }
}

/// <summary>OIDC sign-in behind an https proxy on loopback.</summary>
public sealed class ProxiedOidcServer : OidcServer
{
    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        options.TrustedProxies.Add("127.0.0.1");
    }
}

internal static class ForwardedLogin
{
    /// <summary>A login with a wrong password, as a proxy would forward it for <paramref name="client"/> (null: no header).</summary>
    public static async Task<HttpResponseMessage> FailAsync(ServerFixture server, string user, string? client)
    {
        using var anonymous = server.Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/auth/login")
        {
            Content = JsonContent.Create(new LoginRequest(user, "Wrong-Passw0rd-9")),
        };
        if (client is not null)
        {
            request.Headers.Add("X-Forwarded-For", client);
        }
        return await anonymous.SendAsync(request);
    }

    public static async Task<string?> AuditedAddressAsync(ServerFixture server, string user)
    {
        var audit = await Http.ReadAsync<Paged<AuditEntryDto>>(await server.Admin.GetAsync("/api/v1/audit?action=auth.login-failed&pageSize=200"), 200);
        return audit.Items.First(e => e.ActorName == user).RemoteAddress;
    }
}

/// <summary>From a named proxy, the forwarded client is the one the audit log and the login rate limit see.</summary>
public sealed class TrustedProxyTests(ProxiedServer server) : IClassFixture<ProxiedServer>
{
    [Fact]
    public async Task The_audit_shows_the_forwarded_client_and_the_login_limit_counts_per_forwarded_client()
    {
        var user = await server.CreateUserAsync("px");
        await Http.ProblemAsync(await ForwardedLogin.FailAsync(server, user.UserName, "203.0.113.7"), 401);
        Assert.Equal("203.0.113.7", await ForwardedLogin.AuditedAddressAsync(server, user.UserName));

        // Three logins a minute per client: 203.0.113.7 has used one; two more, then it is limited...
        for (var i = 0; i < 2; i++)
        {
            await Http.ProblemAsync(await ForwardedLogin.FailAsync(server, user.UserName, "203.0.113.7"), 401);
        }
        await Http.ProblemAsync(await ForwardedLogin.FailAsync(server, user.UserName, "203.0.113.7"), 429);
        // ...while another client behind the same proxy is not.
        await Http.ProblemAsync(await ForwardedLogin.FailAsync(server, "nobody-here", "198.51.100.9"), 401);
    }
}

/// <summary>From an address that is not a named proxy, X-Forwarded-For is ignored.</summary>
public sealed class UntrustedProxyTests(ElsewhereProxiedServer server) : IClassFixture<ElsewhereProxiedServer>
{
    [Fact]
    public async Task Forwarded_headers_from_an_unnamed_address_are_ignored_by_the_audit_and_the_login_limit()
    {
        var user = await server.CreateUserAsync("ux");
        await Http.ProblemAsync(await ForwardedLogin.FailAsync(server, user.UserName, "203.0.113.7"), 401);
        Assert.Equal("127.0.0.1", await ForwardedLogin.AuditedAddressAsync(server, user.UserName));
        // One bucket for the real address (the fixture's admin login took a permit): a new forwarded address each time does
        // not buy more guesses.
        await Http.ProblemAsync(await ForwardedLogin.FailAsync(server, user.UserName, "203.0.113.8"), 401);
        await Http.ProblemAsync(await ForwardedLogin.FailAsync(server, user.UserName, "203.0.113.9"), 429);
    }
}

/// <summary>Behind an https proxy (X-Forwarded-Proto from a named proxy), the OIDC cookies are Secure and the callback https.</summary>
public sealed class ProxiedOidcTests(ProxiedOidcServer server) : IClassFixture<ProxiedOidcServer>
{
    private async Task<HttpResponseMessage> ChallengeAsync(string? proto)
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
        using var browser = new HttpClient(handler) { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/auth/oidc/login");
        if (proto is not null)
        {
            request.Headers.Add("X-Forwarded-Proto", proto);
        }
        return await browser.SendAsync(request);
    }

    [Fact]
    public async Task The_oidc_cookies_are_secure_behind_an_https_proxy()
    {
        using var proxied = await ChallengeAsync("https");
        Assert.Equal(HttpStatusCode.Redirect, proxied.StatusCode);
        var cookies = proxied.Headers.GetValues("Set-Cookie").ToList();
        Assert.NotEmpty(cookies);
        Assert.All(cookies, c => Assert.Contains("; secure", c, StringComparison.OrdinalIgnoreCase));
        Assert.Contains("redirect_uri=https%3A%2F%2F", proxied.Headers.Location!.ToString());

        using var direct = await ChallengeAsync(null);
        Assert.All(direct.Headers.GetValues("Set-Cookie"), c => Assert.DoesNotContain("; secure", c, StringComparison.OrdinalIgnoreCase));
    }
}
