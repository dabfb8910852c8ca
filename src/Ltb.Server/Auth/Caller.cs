using System.Reflection;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Auth;

/// <summary>
/// Who is calling: the authenticated user with the roles and group memberships read from the database for this request
/// (so a role change or a removal from a group takes effect on the next request, whatever token is used).
/// Endpoints take it as a parameter; authorizers decide with it.
/// </summary>
public sealed record Caller(Guid UserId, string UserName, IReadOnlySet<string> Roles, IReadOnlySet<Guid> GroupIds, Guid TokenId)
{
    public bool IsAdmin => Roles.Contains(LtbRoles.Admin);

    public bool IsInstructor => Roles.Contains(LtbRoles.Instructor);

    public bool IsMemberOf(Guid groupId) => GroupIds.Contains(groupId);

    /// <summary>The user as a caller: their roles and group memberships as the database has them now.</summary>
    public static async Task<Caller> LoadAsync(Data.LtbDbContext db, Data.LtbUser user, Guid tokenId, CancellationToken ct)
    {
        var roles = await db.UserRoles.Where(ur => ur.UserId == user.Id)
            .Join(db.Roles, ur => ur.RoleId, r => r.Id, (_, r) => r.Name!).ToListAsync(ct);
        var groups = await db.GroupMembers.Where(m => m.UserId == user.Id).Select(m => m.GroupId).ToListAsync(ct);
        return new Caller(user.Id, user.UserName!, roles.ToHashSet(StringComparer.Ordinal), groups.ToHashSet(), tokenId);
    }

    /// <summary>Minimal APIs bind it from the request; only authenticated endpoints take it (the fallback policy).</summary>
    public static ValueTask<Caller?> BindAsync(HttpContext context, ParameterInfo parameter) =>
        ValueTask.FromResult<Caller?>(context.Features.Get<Caller>()
            ?? throw new InvalidOperationException($"{parameter.Name}: the endpoint takes a Caller but allows anonymous access"));
}
