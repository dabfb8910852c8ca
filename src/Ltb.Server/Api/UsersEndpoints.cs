using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>/api/v1/users: accounts. Access rules: <see cref="UserAuthorizer"/>.</summary>
public static class UsersEndpoints
{
    private const string What = "user";

    public static RouteGroupBuilder MapUsersEndpoints(this RouteGroupBuilder api)
    {
        var users = api.MapGroup("/users").WithTags("Users");
        users.MapGet("/", ListAsync).WithName("ListUsers").WithSummary("List users (filters: q = part of the name, role)");
        users.MapPost("/", CreateAsync).WithName("CreateUser").WithSummary("Create a user (admin)");
        users.MapGet("/{id:guid}", GetAsync).WithName("GetUser").WithSummary("One user; the ETag is its version");
        users.MapPatch("/{id:guid}", UpdateAsync).WithName("UpdateUser").WithSummary("Change display name, e-mail, roles, lock (admin; If-Match)");
        users.MapDelete("/{id:guid}", DeleteAsync).WithName("DeleteUser").WithSummary("Delete a user with their tokens, keys and snapshots (admin); refused while they have labs not destroyed");
        users.MapPost("/{id:guid}/password", ResetPasswordAsync).WithName("ResetUserPassword")
            .WithSummary("Set a user's password and unlock the account; revokes all their tokens (admin)");
        return api;
    }

    [Requires<LtbUser>(Operation.Read)]
    private static async Task<Results<Ok<Paged<UserDto>>, ProblemHttpResult, ValidationProblem>> ListAsync(
        Caller caller, LtbDbContext db, IResourceAuthorizer<LtbUser> authz, string? q, string? role, [AsParameters] PageQuery paging,
        CancellationToken ct)
    {
        var query = authz.Visible(db.Users, caller);
        if (!string.IsNullOrWhiteSpace(q))
        {
            var needle = q.Trim().ToLowerInvariant();
            query = query.Where(u => u.UserName!.Contains(needle) || u.DisplayName.ToLower().Contains(needle));
        }
        if (!string.IsNullOrWhiteSpace(role))
        {
            query = query.Where(u => db.UserRoles.Any(ur => ur.UserId == u.Id && db.Roles.Any(r => r.Id == ur.RoleId && r.Name == role)));
        }
        var result = await query.OrderBy(u => u.UserName).ToPageAsync(paging.Request, u => u, ct);
        var roles = await UserViews.RolesOfAsync(db, result.Items.Select(u => u.Id).ToList(), ct);
        return TypedResults.Ok(new Paged<UserDto>(
            result.Items.Select(u => UserViews.ToDto(u, roles.GetValueOrDefault(u.Id) ?? [])).ToList(),
            result.Page, result.PageSize, result.Total));
    }

    [Requires<LtbUser>(Operation.Create)]
    private static async Task<Results<Created<UserDto>, ProblemHttpResult, ValidationProblem>> CreateAsync(
        CreateUserRequest request, UserManager<LtbUser> users, LtbDbContext db, AuditLog audit, HttpContext http, CancellationToken ct)
    {
        var roles = request.Roles ?? [LtbRoles.Student];
        var v = new Validation()
            .Require("userName", request.UserName, Validation.UserName(), Validation.UserNameRule)
            .MaxLength("displayName", request.DisplayName, 200);
        ValidateEmailAndRoles(v, request.Email, roles);
        var user = new LtbUser
        {
            UserName = request.UserName,
            DisplayName = request.DisplayName ?? request.UserName ?? "",
            Email = string.IsNullOrWhiteSpace(request.Email) ? null : request.Email,
            CreatedAt = DateTimeOffset.UtcNow,
        };
        var passwordErrors = await UserViews.CheckPasswordAsync(users, user, request.Password);
        foreach (var e in passwordErrors)
        {
            v.Add("password", e);
        }
        if (!v.IsValid)
        {
            return Problems.Invalid(v.Errors);
        }
        if (await users.FindByNameAsync(request.UserName!) is not null)
        {
            return Problems.Conflict($"a user named '{request.UserName}' exists already");
        }
        var created = await users.CreateAsync(user, request.Password!);
        if (!created.Succeeded)
        {
            return Problems.Invalid("userName", string.Join(" ", created.Errors.Select(e => e.Description)));
        }
        await users.AddToRolesAsync(user, roles.Distinct());
        audit.Record(AuditActions.Created, What, user.Id, $"{user.UserName} roles={string.Join(',', roles)}");
        await db.SaveChangesAsync(ct);
        ETags.Set(http, user);
        return TypedResults.Created($"/api/v1/users/{user.Id}", await UserViews.ToDtoAsync(db, user, ct));
    }

    private static async Task<Results<Ok<UserDto>, ProblemHttpResult>> GetAsync([For(Operation.Read)] Authorized<LtbUser> user,
        LtbDbContext db, HttpContext http, CancellationToken ct)
    {
        ETags.Set(http, user.Value);
        return TypedResults.Ok(await UserViews.ToDtoAsync(db, user.Value, ct));
    }

    private static async Task<Results<Ok<UserDto>, ProblemHttpResult, ValidationProblem>> UpdateAsync(
        [For(Operation.Update)] Authorized<LtbUser> authorized, UpdateUserRequest request, Caller caller, LtbDbContext db,
        UserManager<LtbUser> users, AuditLog audit, HttpContext http, CancellationToken ct)
    {
        var user = authorized.Value;
        var v = new Validation().MaxLength("displayName", request.DisplayName, 200);
        ValidateEmailAndRoles(v, request.Email, request.Roles);
        if (!v.IsValid)
        {
            return Problems.Invalid(v.Errors);
        }
        if (!ETags.Check(http, db, user))
        {
            return Problems.PreconditionFailed();
        }
        // An admin cannot lock themselves out of administration; another admin can.
        if (user.Id == caller.UserId && (request.Locked == true || (request.Roles is { } r && !r.Contains(LtbRoles.Admin))))
        {
            return Problems.Conflict("you cannot lock yourself or remove your own admin role; ask another admin");
        }
        if (request.DisplayName is not null)
        {
            user.DisplayName = request.DisplayName;
        }
        if (request.Email is not null)
        {
            user.Email = request.Email.Length == 0 ? null : request.Email;
            user.NormalizedEmail = users.NormalizeEmail(user.Email);
        }
        if (request.Locked is { } locked)
        {
            user.LockoutEnd = locked ? DateTimeOffset.MaxValue : null;
            user.AccessFailedCount = 0;
        }
        if (request.Roles is { } roles)
        {
            await ReplaceRolesAsync(db, user, roles, ct);
        }
        // Roles live in another table: touch the user so that its version (the ETag) moves with them.
        db.Entry(user).State = EntityState.Modified;
        audit.Record(AuditActions.Updated, What, user.Id, Describe(request));
        await db.SaveChangesAsync(ct);
        ETags.Set(http, user);
        return TypedResults.Ok(await UserViews.ToDtoAsync(db, user, ct));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync([For(Operation.Delete)] Authorized<LtbUser> user,
        Caller caller, LtbDbContext db, AuditLog audit, Snapshots.SnapshotStore snapshots, CancellationToken ct)
    {
        var id = user.Value.Id;
        if (id == caller.UserId)
        {
            return Problems.Conflict("you cannot delete your own account; ask another admin");
        }
        // The database would cascade the user's labs away while their containers keep running on the hosts: refused
        // until the labs are destroyed (their removal tasks take the containers down), a removed lab is just history.
        var labs = await db.Labs.AsNoTracking().Where(l => l.OwnerId == id && l.State != LabLifecycle.Removed)
            .Select(l => new { l.Id, l.Name }).ToListAsync(ct);
        if (labs.Count > 0)
        {
            var names = string.Join(", ", labs.OrderBy(l => l.Name, StringComparer.Ordinal).Take(10).Select(l => $"{l.Name} ({l.Id})"));
            return Problems.Conflict($"user '{user.Value.UserName}' has {labs.Count} lab{(labs.Count == 1 ? "" : "s")} that " +
                $"{(labs.Count == 1 ? "is" : "are")} not destroyed: {names}{(labs.Count > 10 ? ", ..." : "")}; destroy them first " +
                "(DELETE /api/v1/labs/ID, as admin), then delete the user: deleting the user now would leave their containers running");
        }
        // The user's snapshots go with them (the database cascades their rows): their folders are deleted here, after the
        // rows, so that no folder outlives its row (one still being taken is deleted by its task, which finds no row).
        var owned = await db.Snapshots.Where(s => s.OwnerId == id).Select(s => s.Id).ToListAsync(ct);
        db.Users.Remove(user.Value);
        audit.Record(AuditActions.Deleted, What, id, user.Value.UserName + (owned.Count == 0 ? "" : $" and {owned.Count} snapshot(s)"));
        await db.SaveChangesAsync(ct);
        owned.ForEach(snapshots.Delete);
        return TypedResults.NoContent();
    }

    private static async Task<Results<NoContent, ProblemHttpResult, ValidationProblem>> ResetPasswordAsync(
        [For(Operation.ResetPassword)] Authorized<LtbUser> authorized, ResetPasswordRequest request, LtbDbContext db,
        UserManager<LtbUser> users, AuditLog audit, LtbServerOptions options, CancellationToken ct)
    {
        var user = authorized.Value;
        var errors = await UserViews.CheckPasswordAsync(users, user, request.NewPassword);
        if (errors.Length > 0)
        {
            return Problems.Invalid(new Dictionary<string, string[]> { ["newPassword"] = errors });
        }
        UserViews.SetPassword(users, user, request.NewPassword);
        // A reset usually means the account was compromised or forgotten: no old token survives it. The user's row changes
        // with the password, so the save below drops the cached callers of all their tokens, on every replica.
        var now = DateTimeOffset.UtcNow;
        await db.ApiTokens.Where(t => t.UserId == user.Id && t.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RevokedAt, now), ct);
        audit.Record(AuditActions.PasswordReset, What, user.Id);
        await db.SaveChangesAsync(ct);
        InitialAdminPassword.Discard(options, user);
        return TypedResults.NoContent();
    }

    private static void ValidateEmailAndRoles(Validation v, string? email, IReadOnlyList<string>? roles)
    {
        if (!string.IsNullOrEmpty(email) && (email.Length > 256 || !Validation.Email().IsMatch(email)))
        {
            v.Add("email", "is not an e-mail address");
        }
        foreach (var role in roles ?? [])
        {
            if (!LtbRoles.IsKnown(role))
            {
                v.Add("roles", $"'{role}' is not a role (roles: {string.Join(", ", LtbRoles.All)})");
            }
        }
    }

    private static async Task ReplaceRolesAsync(LtbDbContext db, LtbUser user, IReadOnlyList<string> roles, CancellationToken ct)
    {
        var wanted = await db.Roles.Where(r => roles.Contains(r.Name!)).Select(r => r.Id).ToListAsync(ct);
        var current = await db.UserRoles.Where(ur => ur.UserId == user.Id).ToListAsync(ct);
        db.UserRoles.RemoveRange(current.Where(ur => !wanted.Contains(ur.RoleId)));
        db.UserRoles.AddRange(wanted.Where(rid => current.All(ur => ur.RoleId != rid))
            .Select(rid => new IdentityUserRole<Guid> { UserId = user.Id, RoleId = rid }));
    }

    private static string Describe(UpdateUserRequest r) => string.Join(' ', new[]
    {
        r.DisplayName is null ? null : "displayName",
        r.Email is null ? null : "email",
        r.Roles is null ? null : $"roles={string.Join(',', r.Roles)}",
        r.Locked is null ? null : $"locked={r.Locked}",
    }.Where(s => s is not null));
}
