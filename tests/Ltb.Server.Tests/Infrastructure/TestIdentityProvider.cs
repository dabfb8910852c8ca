using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Ltb.Server.Tests.Infrastructure;

/// <summary>
/// A small OpenID Connect provider on loopback, for the tests only: discovery, keys, an authorization endpoint that
/// signs in <see cref="NextUser"/> without a form, and a token endpoint that checks the code, the client and PKCE
/// before it returns an RS256-signed id_token. Enough of Keycloak for LTB's code flow, and no external service.
/// </summary>
public sealed class TestIdentityProvider : IAsyncDisposable
{
    public const string ClientId = "ltb";
    public const string ClientSecret = "test-client-secret";

    private readonly RSA _rsa = RSA.Create(2048);
    private readonly ConcurrentDictionary<string, (TestUser User, string Nonce, string Challenge, string RedirectUri)> _codes = new();
    private WebApplication _app = null!;

    public sealed record TestUser(string Subject, string UserName, string Name, string[] Groups);

    public string Issuer { get; private set; } = "";

    /// <summary>Who the next authorization request signs in.</summary>
    public TestUser NextUser { get; set; } = new("sub-1", "oidc.user", "OIDC User", []);

    public static async Task<TestIdentityProvider> StartAsync()
    {
        var provider = new TestIdentityProvider();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        provider._app = app;
        app.MapGet("/.well-known/openid-configuration", provider.Discovery);
        app.MapGet("/jwks", provider.Keys);
        app.MapGet("/authorize", provider.Authorize);
        app.MapPost("/token", provider.TokenAsync);
        await app.StartAsync();
        provider.Issuer = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return provider;
    }

    private IResult Discovery() => Results.Json(new Dictionary<string, object>
    {
        ["issuer"] = Issuer,
        ["authorization_endpoint"] = $"{Issuer}/authorize",
        ["token_endpoint"] = $"{Issuer}/token",
        ["jwks_uri"] = $"{Issuer}/jwks",
        ["response_types_supported"] = new[] { "code" },
        ["subject_types_supported"] = new[] { "public" },
        ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        ["code_challenge_methods_supported"] = new[] { "S256" },
        ["scopes_supported"] = new[] { "openid", "profile", "email" },
    });

    private IResult Keys()
    {
        var p = _rsa.ExportParameters(false);
        return Results.Json(new
        {
            keys = new[]
            {
                new { kty = "RSA", use = "sig", alg = "RS256", kid = "test-key", n = Base64UrlEncoder.Encode(p.Modulus), e = Base64UrlEncoder.Encode(p.Exponent) },
            },
        });
    }

    private IResult Authorize(HttpRequest request)
    {
        var q = request.Query;
        if (q["client_id"] != ClientId || q["response_type"] != "code" || q["code_challenge_method"] != "S256")
        {
            return Results.BadRequest("unexpected authorization request");
        }
        var code = Guid.NewGuid().ToString("N");
        _codes[code] = (NextUser, q["nonce"].ToString(), q["code_challenge"].ToString(), q["redirect_uri"].ToString());
        return Results.Redirect($"{q["redirect_uri"]}?code={code}&state={Uri.EscapeDataString(q["state"].ToString())}");
    }

    private async Task<IResult> TokenAsync(HttpRequest request)
    {
        var form = await request.ReadFormAsync();
        var (id, secret) = ClientCredentials(request, form);
        if (id != ClientId || secret != ClientSecret)
        {
            return Results.Json(new { error = "invalid_client" }, statusCode: 401);
        }
        if (form["grant_type"] != "authorization_code" || !_codes.TryRemove(form["code"].ToString(), out var grant)
            || grant.RedirectUri != form["redirect_uri"]
            || Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"].ToString()))) != grant.Challenge)
        {
            return Results.Json(new { error = "invalid_grant" }, statusCode: 400);
        }
        var now = DateTime.UtcNow;
        var idToken = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = ClientId,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(5),
            Claims = new Dictionary<string, object>
            {
                ["sub"] = grant.User.Subject,
                ["nonce"] = grant.Nonce,
                ["preferred_username"] = grant.User.UserName,
                ["name"] = grant.User.Name,
                ["email"] = $"{grant.User.UserName}@example.test",
                ["groups"] = grant.User.Groups,
            },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(_rsa) { KeyId = "test-key" }, SecurityAlgorithms.RsaSha256),
        });
        return Results.Json(new Dictionary<string, object>
        {
            ["access_token"] = Guid.NewGuid().ToString("N"),
            ["token_type"] = "Bearer",
            ["expires_in"] = 300,
            ["id_token"] = idToken,
        });
    }

    /// <summary>client_secret_basic or client_secret_post.</summary>
    private static (string? Id, string? Secret) ClientCredentials(HttpRequest request, IFormCollection form)
    {
        string? header = request.Headers.Authorization;
        if (header?.StartsWith("Basic ", StringComparison.Ordinal) == true)
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..])).Split(':', 2);
            return (Uri.UnescapeDataString(pair[0]), Uri.UnescapeDataString(pair[1]));
        }
        return (form["client_id"], form["client_secret"]);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _rsa.Dispose();
    }
}
