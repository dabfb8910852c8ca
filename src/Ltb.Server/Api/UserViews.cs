using Ltb.Server.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>Users as the API shows them (with their roles), and the password rules applied in one place.</summary>
internal static class UserViews
{
    public static async Task<Dictionary<Guid, List<string>>> RolesOfAsync(LtbDbContext db, IReadOnlyCollection<Guid> userIds,
        CancellationToken ct)
    {
        var rows = await db.UserRoles.Where(ur => userIds.Contains(ur.UserId))
            .Join(db.Roles, ur => ur.RoleId, r => r.Id, (ur, r) => new { ur.UserId, r.Name })
            .ToListAsync(ct);
        return rows.GroupBy(r => r.UserId).ToDictionary(g => g.Key, g => g.Select(r => r.Name!).Order().ToList());
    }

    public static UserDto ToDto(LtbUser u, IReadOnlyList<string> roles) =>
        new(u.Id, u.UserName!, u.DisplayName, u.Email, roles, IsLocked(u), u.CreatedAt, u.Version);

    public static async Task<UserDto> ToDtoAsync(LtbDbContext db, LtbUser u, CancellationToken ct)
    {
        var roles = await RolesOfAsync(db, [u.Id], ct);
        return ToDto(u, roles.GetValueOrDefault(u.Id) ?? []);
    }

    public static bool IsLocked(LtbUser u) => u.LockoutEnd is { } end && end > DateTimeOffset.UtcNow;

    /// <summary>
    /// Locked by an admin (PATCH locked=true sets the lockout's end to the far future), as opposed to the temporary
    /// lockout of password sign-in after failed attempts: only the admin's lock stops the user's tokens and OIDC sign-in,
    /// so that guessing someone's password cannot lock them out of the sessions they have.
    /// </summary>
    public static bool IsDisabled(LtbUser u) => u.LockoutEnd is { } end && end > DateTimeOffset.UtcNow.AddYears(1);

    /// <summary>Runs Identity's password policy; the messages, or none.</summary>
    public static async Task<string[]> CheckPasswordAsync(UserManager<LtbUser> users, LtbUser user, string? password)
    {
        if (string.IsNullOrEmpty(password))
        {
            return ["is required"];
        }
        var errors = new List<string>();
        foreach (var validator in users.PasswordValidators)
        {
            var result = await validator.ValidateAsync(users, user, password);
            errors.AddRange(result.Errors.Select(e => e.Description));
        }
        return [.. errors];
    }

    /// <summary>Sets a new password hash and ends any lockout (an admin reset, or the first admin's creation).</summary>
    public static void SetPassword(UserManager<LtbUser> users, LtbUser user, string password)
    {
        user.PasswordHash = users.PasswordHasher.HashPassword(user, password);
        user.SecurityStamp = Guid.NewGuid().ToString("N");
        user.AccessFailedCount = 0;
        user.LockoutEnd = null;
    }
}
