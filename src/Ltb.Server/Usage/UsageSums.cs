using Ltb.Server.Auth;
using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Usage;

/// <summary>
/// Live usage summed per user, group, lab or host (GET /usage): the hosts' last samples on the <see cref="UsageBoard"/>,
/// their labs found in the store by runtime name, kept to those the caller's <see cref="UsageScope"/> sees. A lab is
/// counted for its owner and for the group it is shared with ("(none)" without one).
/// </summary>
public static class UsageSums
{
    public static async Task<UsageSumsDto> OfAsync(UsageBoard board, LtbDbContext db, UsageScope scope, string by, CancellationToken ct)
    {
        var sampled = board.All.SelectMany(h => h.Usage.Labs.Select(l => (HostId: h.Id, HostName: h.Name, Usage: l))).ToList();
        var names = sampled.Select(s => s.Usage.Lab).Distinct().ToList();
        var labs = (await db.Labs.AsNoTracking().Where(l => names.Contains(l.RuntimeName) && l.State != LabLifecycle.Removed)
                .Select(l => new LabRef(l.Id, l.Name, l.RuntimeName, l.OwnerId, l.Owner!.UserName ?? "", l.GroupId)).ToListAsync(ct))
            .GroupBy(l => l.RuntimeName).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var visible = sampled.Where(s => labs.TryGetValue(s.Usage.Lab, out var l) && scope.Sees(l.OwnerId, l.GroupId))
            .Select(s => (s.HostId, s.HostName, Lab: labs[s.Usage.Lab], s.Usage.Nodes)).ToList();
        var groupIds = visible.Select(v => v.Lab.GroupId).OfType<Guid>().Distinct().ToList();
        var groups = await db.Groups.AsNoTracking().Where(g => groupIds.Contains(g.Id)).ToDictionaryAsync(g => g.Id, g => g.Name, ct);
        var items = visible.GroupBy(v => by switch
            {
                "user" => (Id: (Guid?)v.Lab.OwnerId, Name: v.Lab.Owner),
                "group" => (Id: v.Lab.GroupId, Name: v.Lab.GroupId is { } g ? groups.GetValueOrDefault(g, g.ToString()) : "(none)"),
                "host" => (Id: (Guid?)v.HostId, Name: v.HostName),
                _ => (Id: (Guid?)v.Lab.Id, Name: v.Lab.Name),
            })
            .Select(g => new UsageSumDto(g.Key.Id, g.Key.Name, UsageViews.Totals(g.SelectMany(v => v.Nodes).ToList())))
            .OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
        return new UsageSumsDto(by, items, UsageViews.Totals(visible.SelectMany(v => v.Nodes).ToList()));
    }

    private sealed record LabRef(Guid Id, string Name, string RuntimeName, Guid OwnerId, string Owner, Guid? GroupId);
}
