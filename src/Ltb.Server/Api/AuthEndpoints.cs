using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Caching;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>
/// Login (a session token for the CLI), logout, and the caller's own account (/me). Login is rate limited per client
/// address; every failed attempt is answered after a delay, and repeated failures lock password sign-in for a while
/// (Identity lockout) without touching the user's tokens.
/// </summary>
public static class AuthEndpoints
{
    private const string InvalidLogin = "invalid user name or password";

    public static RouteGroupBuilder MapAuthEndpoints(this RouteGroupBuilder api)
    {
        var auth = api.MapGroup("/auth").WithTags("Authentication");
        auth.MapPost("/login", LoginAsync).WithName("SignIn").AllowAnonymous().RequireRateLimiting(RateLimits.Login)
            .WithSummary("Sign in with user name and password; returns a session token (shown once)");
        auth.MapPost("/logout", LogoutAsync).WithName("SignOut").WithSummary("Revoke the token of this request");
        auth.MapPost("/transfer-tickets", TransferTicketAsync).WithName("CreateTransferTicket")
            .WithSummary("A single-use ticket (valid 60 s) that authenticates one bulk transfer as this token: a VM image upload, a snapshot import or export (the web UI's way to stream a large body from the browser)");

        var me = api.MapGroup("/me").WithTags("Authentication");
        me.MapGet("/", MeAsync).WithName("GetMe").WithSummary("The signed-in user");
        me.MapPost("/password", ChangePasswordAsync).WithName("ChangeMyPassword").RequireRateLimiting(RateLimits.Login)
            .WithSummary("Change one's own password (revokes one's other session tokens)");
        return api;
    }

    /// <summary>Also the web UI's sign-in form (Auth/BrowserSessions.cs): one place checks passwords.</summary>
    internal static async Task<Results<Ok<LoginResponse>, ProblemHttpResult, ValidationProblem>> LoginAsync(
        LoginRequest request, UserManager<LtbUser> users, LtbDbContext db, AuditLog audit, LtbServerOptions options,
        CancellationToken ct)
    {
        var v = new Validation();
        if (string.IsNullOrWhiteSpace(request.UserName))
        {
            v.Add("userName", "is required");
        }
        if (string.IsNullOrEmpty(request.Password))
        {
            v.Add("password", "is required");
        }
        if (!v.IsValid)
        {
            return Problems.Invalid(v.Errors);
        }
        var user = await users.FindByNameAsync(request.UserName);
        if (user is null)
        {
            // Hash anyway, so that the answer's timing does not tell which user names exist.
            users.PasswordHasher.VerifyHashedPassword(new LtbUser(), DummyHash.Value, request.Password);
            // People type passwords into the name field; a valid password (it has an upper-case letter) never matches the
            // user-name pattern, so only names that could be user names reach the log.
            var tried = Validation.UserName().IsMatch(request.UserName) ? request.UserName : "(not a user name)";
            audit.RecordAs(null, tried, AuditActions.LoginFailed, "user", null, "unknown user name");
            await db.SaveChangesAsync(ct);
            await Task.Delay(options.FailedLoginDelay, ct);
            return Problems.Unauthorized(InvalidLogin);
        }
        if (await users.IsLockedOutAsync(user))
        {
            // The password is not even checked while locked. Only password sign-in is locked: the user's tokens keep
            // working (TokenAuthenticationHandler), so guessing cannot keep anyone out of the sessions they have.
            audit.RecordAs(user.Id, user.UserName!, AuditActions.LoginFailed, "user", user.Id, "account locked");
            await db.SaveChangesAsync(ct);
            await Task.Delay(options.FailedLoginDelay, ct);
            return Locked(user);
        }
        if (!await users.CheckPasswordAsync(user, request.Password))
        {
            await users.AccessFailedAsync(user);
            audit.RecordAs(user.Id, user.UserName!, AuditActions.LoginFailed, "user", user.Id, "wrong password");
            await db.SaveChangesAsync(ct);
            // Each wrong guess costs the guesser time (the per-address rate limit bounds guesses made in parallel).
            await Task.Delay(options.FailedLoginDelay, ct);
            return await users.IsLockedOutAsync(user) ? Locked(user) : Problems.Unauthorized(InvalidLogin);
        }
        await users.ResetAccessFailedCountAsync(user);
        var issued = ApiTokens.Issue(db, user.Id, ApiTokenKind.Session, "login", DateTimeOffset.UtcNow + options.SessionLifetime);
        audit.RecordAs(user.Id, user.UserName!, AuditActions.Login, "user", user.Id);
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(new LoginResponse(issued.Secret, issued.Token.ExpiresAt!.Value, await UserViews.ToDtoAsync(db, user, ct)));
    }

    private static ProblemHttpResult Locked(LtbUser user) => Problems.Unauthorized(UserViews.IsDisabled(user)
        ? "the account is locked by an admin; ask an admin to unlock it"
        : $"password sign-in is locked after repeated failed logins until {user.LockoutEnd?.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC; " +
          "wait until then or ask an admin to reset the password (sessions and personal tokens you have keep working)");

    private static Results<Ok<TransferTicketResponse>, ProblemHttpResult, ValidationProblem> TransferTicketAsync(TransferTicketRequest request,
        HttpContext http, TransferTickets tickets)
    {
        if (string.IsNullOrEmpty(request.Method) || string.IsNullOrEmpty(request.Path) || !TransferTickets.Allows(request.Method, request.Path))
        {
            return Problems.Invalid("path", "a transfer ticket is for POST /api/v1/vm-images, POST /api/v1/snapshots/import or GET /api/v1/snapshots/{id}/export");
        }
        // Only a bearer token can ask (the handler's own tickets cannot: they are for their transfer alone).
        string? header = http.Request.Headers.Authorization;
        if (header is null || ApiTokens.HashOf(header[Math.Min(header.Length, ApiTokens.Scheme.Length + 1)..].Trim()) is not { } hash)
        {
            return Problems.Unauthorized("a transfer ticket is asked for with 'Authorization: Bearer TOKEN'");
        }
        if (tickets.Issue(hash, request.Method, request.Path) is not { } issued)
        {
            return Problems.Conflict($"this session holds {TransferTickets.MaxPerToken} unused transfer tickets; use them or wait a minute");
        }
        return TypedResults.Ok(new TransferTicketResponse(issued.Ticket, issued.ExpiresAt,
            $"{request.Path.TrimEnd('/')}?{TransferTickets.QueryName}={issued.Ticket}"));
    }

    internal static async Task<NoContent> LogoutAsync(Caller caller, LtbDbContext db, AuditLog audit, ChangeSignals changes, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        await db.ApiTokens.Where(t => t.Id == caller.TokenId && t.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, now), ct);
        // A bulk update passes no change tracker: the cached caller of this token goes here, on every replica.
        await changes.PublishAsync([Change.Token(caller.TokenId)], ct);
        audit.Record(AuditActions.Logout, "token", caller.TokenId);
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<UserDto>, ProblemHttpResult>> MeAsync(Caller caller, LtbDbContext db, HttpContext http,
        CancellationToken ct)
    {
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == caller.UserId, ct);
        if (user is null)
        {
            return Problems.NotFound("user");
        }
        ETags.Set(http, user);
        return TypedResults.Ok(await UserViews.ToDtoAsync(db, user, ct));
    }

    private static async Task<Results<NoContent, ProblemHttpResult, ValidationProblem>> ChangePasswordAsync(
        ChangePasswordRequest request, Caller caller, UserManager<LtbUser> users, LtbDbContext db, AuditLog audit,
        LtbServerOptions options, CancellationToken ct)
    {
        var user = await users.FindByIdAsync(caller.UserId.ToString());
        if (user is null)
        {
            return Problems.NotFound("user");
        }
        var errors = await UserViews.CheckPasswordAsync(users, user, request.NewPassword);
        if (errors.Length > 0)
        {
            return Problems.Invalid(new Dictionary<string, string[]> { ["newPassword"] = errors });
        }
        if (string.IsNullOrEmpty(request.CurrentPassword) || !await users.CheckPasswordAsync(user, request.CurrentPassword))
        {
            return Problems.Invalid("currentPassword", "is not the current password");
        }
        UserViews.SetPassword(users, user, request.NewPassword);
        // Other sessions may belong to whoever knew the old password; personal tokens stay (the user manages them). The
        // user's row changes with the password, so the save below drops the cached callers of all their tokens.
        var now = DateTimeOffset.UtcNow;
        await db.ApiTokens.Where(t => t.UserId == user.Id && t.Kind == ApiTokenKind.Session && t.Id != caller.TokenId && t.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, now), ct);
        audit.Record(AuditActions.PasswordChanged, "user", user.Id);
        await db.SaveChangesAsync(ct);
        InitialAdminPassword.Discard(options, user);
        return TypedResults.NoContent();
    }

    /// <summary>A hash of a random password, computed once, to verify against when the user does not exist.</summary>
    private static readonly Lazy<string> DummyHash = new(() =>
        new PasswordHasher<LtbUser>().HashPassword(new LtbUser(), Guid.NewGuid().ToString()));
}
