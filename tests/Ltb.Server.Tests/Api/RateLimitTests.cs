using System.Net.Http.Json;
using Ltb.Server.Api;
using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Api;

/// <summary>A server with small limits, so that the limits can be reached in a test.</summary>
public sealed class RateLimitedServer : SqliteServer
{
    protected override Task ConfigureAsync(LtbServerOptions options)
    {
        options.LoginPermitsPerMinute = 4;
        options.TokenPermitsPerMinute = 2;
        return Task.CompletedTask;
    }
}

/// <summary>Login and token creation are rate limited; the refusal is 429 with Retry-After and problem details.</summary>
public sealed class RateLimitTests(RateLimitedServer server) : IClassFixture<RateLimitedServer>
{
    [Fact]
    public async Task Logins_beyond_the_limit_get_429_with_retry_after()
    {
        using var anonymous = server.Anonymous();
        // The fixture's own admin login took one permit of this minute.
        for (var i = 0; i < 3; i++)
        {
            await Http.ProblemAsync(await anonymous.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest("guess", $"Guess-{i}-Passw0rd")), 401);
        }
        var limited = await anonymous.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest("admin", ServerFixture.AdminPassword));
        var problem = await Http.ProblemAsync(limited, 429);
        Assert.Contains("too many", problem.GetProperty("detail").GetString());
        Assert.True(limited.Headers.RetryAfter?.Delta > TimeSpan.Zero);
    }

    [Fact]
    public async Task Token_creation_beyond_the_limit_gets_429()
    {
        await Http.EnsureAsync(await server.Admin.PostAsJsonAsync("/api/v1/tokens", new CreateTokenRequest("one")), 201, "first");
        await Http.EnsureAsync(await server.Admin.PostAsJsonAsync("/api/v1/tokens", new CreateTokenRequest("two")), 201, "second");
        await Http.ProblemAsync(await server.Admin.PostAsJsonAsync("/api/v1/tokens", new CreateTokenRequest("three")), 429);
    }
}
