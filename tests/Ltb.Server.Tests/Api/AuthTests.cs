using System.Net.Http.Json;
using System.Text.Json;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Api;

/// <summary>Login, lockout, tokens, logout, password change and reset, over HTTP against a real server.</summary>
public abstract class AuthTests<TServer>(TServer fixture) : IClassFixture<TServer>
    where TServer : ServerFixture
{
    private TServer S
    {
        get
        {
            fixture.Require();
            return fixture;
        }
    }

    [Fact]
    public async Task The_first_start_creates_the_admin_with_the_given_password()
    {
        Assert.Equal(new Ltb.Server.Hosting.AdminAccountCreated("admin", null), S.AdminCreated);
        var me = await Http.ReadAsync<UserDto>(await S.Admin.GetAsync("/api/v1/me"), 200);
        Assert.Equal("admin", me.UserName);
        Assert.Equal(["admin"], me.Roles);
    }

    [Fact]
    public async Task A_login_token_authenticates_and_logout_revokes_it()
    {
        var user = await S.CreateUserAsync("login");
        var token = await S.LoginTokenAsync(user.UserName, ServerFixture.UserPassword);
        Assert.StartsWith("ltb_", token);
        using var client = S.WithToken(token);
        Assert.Equal(user.Id, (await Http.ReadAsync<UserDto>(await client.GetAsync("/api/v1/me"), 200)).Id);

        await Http.EnsureAsync(await client.PostAsync("/api/v1/auth/logout", null), 204, "logout");
        var problem = await Http.ProblemAsync(await client.GetAsync("/api/v1/me"), 401);
        Assert.Contains("Bearer", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_wrong_password_is_401_with_problem_details_and_is_audited()
    {
        var user = await S.CreateUserAsync("wrong");
        using var anonymous = S.Anonymous();
        var response = await anonymous.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest(user.UserName, "Not-the-Passw0rd"));
        var problem = await Http.ProblemAsync(response, 401);
        Assert.Equal("invalid user name or password", problem.GetProperty("detail").GetString());

        // An unknown user gets the very same answer: no user-name probing.
        var unknown = await anonymous.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest("nobody-here", "Not-the-Passw0rd"));
        Assert.Equal("invalid user name or password", (await Http.ProblemAsync(unknown, 401)).GetProperty("detail").GetString());

        // A password typed into the name field never reaches the audit log.
        await Http.ProblemAsync(await anonymous.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest("Typed-Passw0rd-Here", "x")), 401);

        var audit = await Http.ReadAsync<Paged<AuditEntryDto>>(
            await S.Admin.GetAsync($"/api/v1/audit?action=auth.login-failed&objectId={user.Id}"), 200);
        Assert.Contains(audit.Items, e => e.ActorName == user.UserName && e.Detail == "wrong password");
        var failures = await Http.ReadAsync<Paged<AuditEntryDto>>(
            await S.Admin.GetAsync("/api/v1/audit?action=auth.login-failed&pageSize=200"), 200);
        Assert.Contains(failures.Items, e => e.ActorName == "nobody-here");
        Assert.DoesNotContain(failures.Items, e => $"{e.ActorName} {e.Detail}".Contains("Passw0rd", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Repeated_failures_lock_password_sign_in_but_not_the_sessions_until_an_admin_resets_the_password()
    {
        var user = await S.CreateUserAsync("lock");
        using var session = await S.LoginAsync(user.UserName, ServerFixture.UserPassword);
        using var anonymous = S.Anonymous();
        for (var i = 0; i < 5; i++)
        {
            await Http.ProblemAsync(await anonymous.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest(user.UserName, "Wrong-Passw0rd")), 401);
        }
        // Locked: even the right password is refused, with a message that says so; the session the user has keeps working
        // (a guesser cannot keep anyone out of the sessions they have).
        var locked = await Http.ProblemAsync(
            await anonymous.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest(user.UserName, ServerFixture.UserPassword)), 401);
        Assert.Contains("password sign-in is locked after repeated failed logins until", locked.GetProperty("detail").GetString());
        await Http.EnsureAsync(await session.GetAsync("/api/v1/me"), 200, "the session of a user whose password sign-in is locked");

        var shown = await Http.ReadAsync<UserDto>(await S.Admin.GetAsync($"/api/v1/users/{user.Id}"), 200);
        Assert.True(shown.Locked);

        const string fresh = "Fresh-Passw0rd-2";
        await Http.EnsureAsync(await S.Admin.PostAsJsonAsync($"/api/v1/users/{user.Id}/password", new ResetPasswordRequest(fresh)), 204, "reset");
        using var again = await S.LoginAsync(user.UserName, fresh);
        Assert.False((await Http.ReadAsync<UserDto>(await again.GetAsync("/api/v1/me"), 200)).Locked);
    }

    [Fact]
    public async Task Personal_tokens_are_shown_once_listed_without_secret_and_revoked()
    {
        var user = await S.CreateUserAsync("tok");
        using var session = await S.LoginAsync(user.UserName, ServerFixture.UserPassword);
        var created = await Http.ReadAsync<CreatedTokenDto>(
            await session.PostAsJsonAsync("/api/v1/tokens", new CreateTokenRequest("ci script", 30)), 201);
        Assert.StartsWith(created.Token.Prefix, created.Secret);
        Assert.Equal("personal", created.Token.Kind);
        Assert.NotNull(created.Token.ExpiresAt);

        using var script = S.WithToken(created.Secret);
        Assert.Equal(user.Id, (await Http.ReadAsync<UserDto>(await script.GetAsync("/api/v1/me"), 200)).Id);

        var listText = await (await session.GetAsync("/api/v1/tokens")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(created.Secret, listText);
        var list = JsonSerializer.Deserialize<Paged<TokenDto>>(listText, JsonSerializerOptions.Web)!;
        Assert.Contains(list.Items, t => t.Id == created.Token.Id && t.Name == "ci script");
        Assert.Contains(list.Items, t => t.Kind == "session");

        await Http.EnsureAsync(await session.DeleteAsync($"/api/v1/tokens/{created.Token.Id}"), 204, "revoke");
        await Http.ProblemAsync(await script.GetAsync("/api/v1/me"), 401);
        await Http.ProblemAsync(await session.DeleteAsync($"/api/v1/tokens/{created.Token.Id}"), 404);
        var after = await Http.ReadAsync<Paged<TokenDto>>(await session.GetAsync("/api/v1/tokens"), 200);
        Assert.DoesNotContain(after.Items, t => t.Id == created.Token.Id);
    }

    [Fact]
    public async Task A_malformed_or_unknown_token_is_401()
    {
        using var bogus = S.WithToken("ltb_" + new string('A', 43));
        await Http.ProblemAsync(await bogus.GetAsync("/api/v1/me"), 401);
        using var garbage = S.WithToken("not-a-token");
        await Http.ProblemAsync(await garbage.GetAsync("/api/v1/me"), 401);
    }

    [Fact]
    public async Task Changing_the_password_needs_the_current_one_and_ends_other_sessions()
    {
        var user = await S.CreateUserAsync("pw");
        using var first = await S.LoginAsync(user.UserName, ServerFixture.UserPassword);
        using var second = await S.LoginAsync(user.UserName, ServerFixture.UserPassword);
        var personal = await Http.ReadAsync<CreatedTokenDto>(await first.PostAsJsonAsync("/api/v1/tokens", new CreateTokenRequest("keep")), 201);

        var wrong = await Http.ProblemAsync(
            await first.PostAsJsonAsync("/api/v1/me/password", new ChangePasswordRequest("Wrong-Passw0rd", "New-Passw0rd-22")), 400);
        Assert.True(wrong.GetProperty("errors").TryGetProperty("currentPassword", out _));
        var weak = await Http.ProblemAsync(
            await first.PostAsJsonAsync("/api/v1/me/password", new ChangePasswordRequest(ServerFixture.UserPassword, "short")), 400);
        Assert.True(weak.GetProperty("errors").TryGetProperty("newPassword", out _));

        await Http.EnsureAsync(await first.PostAsJsonAsync("/api/v1/me/password",
            new ChangePasswordRequest(ServerFixture.UserPassword, "New-Passw0rd-22")), 204, "change password");
        await Http.EnsureAsync(await first.GetAsync("/api/v1/me"), 200, "the session that changed it");
        await Http.ProblemAsync(await second.GetAsync("/api/v1/me"), 401);
        using var script = S.WithToken(personal.Secret);
        await Http.EnsureAsync(await script.GetAsync("/api/v1/me"), 200, "personal tokens survive a password change");

        using var anonymous = S.Anonymous();
        await Http.ProblemAsync(await anonymous.PostAsJsonAsync("/api/v1/auth/login",
            new LoginRequest(user.UserName, ServerFixture.UserPassword)), 401);
        using var fresh = await S.LoginAsync(user.UserName, "New-Passw0rd-22");
    }

    [Fact]
    public async Task An_admin_reset_revokes_every_token_of_the_user()
    {
        var user = await S.CreateUserAsync("reset");
        using var session = await S.LoginAsync(user.UserName, ServerFixture.UserPassword);
        var personal = await Http.ReadAsync<CreatedTokenDto>(await session.PostAsJsonAsync("/api/v1/tokens", new CreateTokenRequest("p")), 201);
        await Http.EnsureAsync(await S.Admin.PostAsJsonAsync($"/api/v1/users/{user.Id}/password",
            new ResetPasswordRequest("Reset-Passw0rd-3")), 204, "reset");
        await Http.ProblemAsync(await session.GetAsync("/api/v1/me"), 401);
        using var script = S.WithToken(personal.Secret);
        await Http.ProblemAsync(await script.GetAsync("/api/v1/me"), 401);
    }

    [Fact]
    public async Task Locking_a_user_stops_their_tokens_and_unlocking_restores_them()
    {
        var user = await S.CreateUserAsync("lk");
        using var session = await S.LoginAsync(user.UserName, ServerFixture.UserPassword);
        await Http.EnsureAsync(await S.Admin.PatchAsJsonAsync($"/api/v1/users/{user.Id}", new UpdateUserRequest(Locked: true)), 200, "lock");
        await Http.ProblemAsync(await session.GetAsync("/api/v1/me"), 401);
        await Http.EnsureAsync(await S.Admin.PatchAsJsonAsync($"/api/v1/users/{user.Id}", new UpdateUserRequest(Locked: false)), 200, "unlock");
        await Http.EnsureAsync(await session.GetAsync("/api/v1/me"), 200, "after unlock");
    }

    [Fact]
    public async Task A_role_change_takes_effect_on_the_next_request()
    {
        var user = await S.CreateUserAsync("role");
        using var session = await S.LoginAsync(user.UserName, ServerFixture.UserPassword);
        await Http.ProblemAsync(await session.GetAsync("/api/v1/audit"), 403);
        await Http.EnsureAsync(await S.Admin.PatchAsJsonAsync($"/api/v1/users/{user.Id}",
            new UpdateUserRequest(Roles: ["admin"])), 200, "make admin");
        await Http.EnsureAsync(await session.GetAsync("/api/v1/audit"), 200, "audit as new admin");
    }
}

public sealed class AuthTestsOnSqlite(SqliteServer fixture) : AuthTests<SqliteServer>(fixture);

public sealed class AuthTestsOnPostgres(PostgresServer fixture) : AuthTests<PostgresServer>(fixture);
