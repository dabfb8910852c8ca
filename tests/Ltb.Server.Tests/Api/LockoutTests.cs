using System.Diagnostics;
using System.Net.Http.Json;
using Ltb.Server.Api;
using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Api;

/// <summary>A server whose password lockout ends after a few seconds, so that a test sees it end.</summary>
public sealed class ShortLockoutServer : SqliteServer
{
    public static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(700);

    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        options.LockoutAttempts = 3;
        options.LockoutDuration = TimeSpan.FromSeconds(6);
        options.FailedLoginDelay = Delay;
    }
}

/// <summary>
/// Guessing a password slows the guesser and locks password sign-in for a while, but never locks the victim out of the
/// sessions and tokens they have: an attacker cannot keep the admin out by guessing.
/// </summary>
public sealed class LockoutTests(ShortLockoutServer server) : IClassFixture<ShortLockoutServer>
{
    private async Task<HttpResponseMessage> LoginAsync(HttpClient client, string user, string password) =>
        await client.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest(user, password));

    [Fact]
    public async Task Guessing_the_admins_password_slows_and_locks_sign_in_for_a_while_while_the_admins_tokens_keep_working()
    {
        using var anonymous = server.Anonymous();
        var personal = await Http.ReadAsync<CreatedTokenDto>(await server.Admin.PostAsJsonAsync("/api/v1/tokens", new CreateTokenRequest("ops")), 201);
        using var script = server.WithToken(personal.Secret);

        // Each wrong guess is answered after the delay.
        for (var i = 0; i < 3; i++)
        {
            var watch = Stopwatch.StartNew();
            await Http.ProblemAsync(await LoginAsync(anonymous, "admin", $"Guess-{i}-Passw0rd"), 401);
            Assert.True(watch.Elapsed >= ShortLockoutServer.Delay, $"a wrong password was answered after {watch.Elapsed}");
        }
        // Locked: the right password is refused too, saying until when...
        var locked = await Http.ProblemAsync(await LoginAsync(anonymous, "admin", ServerFixture.AdminPassword), 401);
        Assert.Contains("password sign-in is locked after repeated failed logins until", locked.GetProperty("detail").GetString());
        // ...but the admin's session and personal token still work, admin rights included.
        Assert.Equal("admin", (await Http.ReadAsync<UserDto>(await server.Admin.GetAsync("/api/v1/me"), 200)).UserName);
        await Http.EnsureAsync(await script.GetAsync("/api/v1/users"), 200, "a personal token while password sign-in is locked");

        // The lock is temporary: after it, the right password signs in again.
        await Task.Delay(TimeSpan.FromSeconds(6.5), TestContext.Current.CancellationToken);
        await Http.EnsureAsync(await LoginAsync(anonymous, "admin", ServerFixture.AdminPassword), 200, "sign-in after the lockout");
    }

    [Fact]
    public async Task An_unknown_user_name_is_slowed_like_a_wrong_password_and_an_admins_lock_still_stops_tokens()
    {
        using var anonymous = server.Anonymous();
        var watch = Stopwatch.StartNew();
        await Http.ProblemAsync(await LoginAsync(anonymous, "nobody-at-all", "Guess-Passw0rd"), 401);
        Assert.True(watch.Elapsed >= ShortLockoutServer.Delay, $"an unknown user was answered after {watch.Elapsed}");

        var user = await server.CreateUserAsync("dis");
        using var session = await server.LoginAsync(user.UserName, ServerFixture.UserPassword);
        await Http.EnsureAsync(await server.Admin.PatchAsJsonAsync($"/api/v1/users/{user.Id}", new UpdateUserRequest(Locked: true)), 200, "lock");
        await Http.ProblemAsync(await session.GetAsync("/api/v1/me"), 401);
        var refused = await Http.ProblemAsync(await LoginAsync(anonymous, user.UserName, ServerFixture.UserPassword), 401);
        Assert.Equal("the account is locked by an admin; ask an admin to unlock it", refused.GetProperty("detail").GetString());
    }
}
