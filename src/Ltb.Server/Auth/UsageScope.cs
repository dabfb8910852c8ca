using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Auth;

/// <summary>
/// Whose usage a caller sees in the usage history, the accounting reports and the live sums (docs/security.md "Usage"):
/// administrators everyone's; instructors their own, that of the members of their groups and of labs shared with their
/// groups; students only their own (not even a group lab's, which they may read: its usage is on the lab's own
/// endpoints, which follow <see cref="LabAuthorizer"/>). The one place this rule is written, for rows in the database
/// (<see cref="Filter"/>) and for labs in memory (<see cref="Sees"/>).
/// </summary>
public sealed class UsageScope
{
    private readonly bool _everyone;
    private readonly List<Guid> _users;
    private readonly List<Guid> _groups;

    private UsageScope(bool everyone, List<Guid> users, List<Guid> groups) => (_everyone, _users, _groups) = (everyone, users, groups);

    public static async Task<UsageScope> ForAsync(Caller caller, LtbDbContext db, CancellationToken ct)
    {
        if (caller.IsAdmin)
        {
            return new UsageScope(true, [], []);
        }
        if (!caller.IsInstructor)
        {
            return new UsageScope(false, [caller.UserId], []);
        }
        var groups = caller.GroupIds.ToList();
        var members = await db.GroupMembers.AsNoTracking().Where(m => groups.Contains(m.GroupId)).Select(m => m.UserId).Distinct().ToListAsync(ct);
        return new UsageScope(false, [caller.UserId, .. members], groups);
    }

    /// <summary>The node rows the caller sees (never the host machines' own rows: those are the hosts' history, admins only).</summary>
    public IQueryable<UsageRecord> Filter(IQueryable<UsageRecord> rows)
    {
        rows = rows.Where(r => r.LabId != Guid.Empty);
        if (_everyone)
        {
            return rows;
        }
        var (users, groups) = (_users, _groups);
        return rows.Where(r => (r.OwnerId != null && users.Contains(r.OwnerId.Value)) || (r.GroupId != null && groups.Contains(r.GroupId.Value)));
    }

    public bool Sees(Guid owner, Guid? group) => _everyone || _users.Contains(owner) || (group is { } g && _groups.Contains(g));
}
