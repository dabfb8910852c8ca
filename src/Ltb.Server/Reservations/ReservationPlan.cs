using System.Text.Json;
using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Reservations;

/// <summary>One lab of a reservation: for whom (a user, or a team group), on which host, and the lab once deployed.</summary>
public sealed record PlannedLab(Guid RecipientId, string Recipient, Guid HostId, Guid? LabId = null);

/// <summary>Who gets a lab from a reservation, and the stored plan.</summary>
public static class ReservationPlan
{
    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    public static List<PlannedLab> Parse(string json) => JsonSerializer.Deserialize<List<PlannedLab>>(json, Json) ?? [];

    public static string ToJson(IEnumerable<PlannedLab> plan) => JsonSerializer.Serialize(plan.ToList(), Json);

    public static List<Guid> Teams(Reservation r) => JsonSerializer.Deserialize<List<Guid>>(r.TeamIdsJson, Json) ?? [];

    public static string TeamsJson(IEnumerable<Guid> teams) => JsonSerializer.Serialize(teams.Distinct().ToList(), Json);

    /// <summary>The recipients (id, name) in a stable order: the owner; each member of the group; each team.</summary>
    public static async Task<List<(Guid Id, string Name)>> RecipientsAsync(LtbDbContext db, Reservation r, CancellationToken ct)
    {
        switch (r.Audience)
        {
            case ReservationAudience.Members:
                var members = await db.GroupMembers.AsNoTracking().Where(m => m.GroupId == r.GroupId)
                    .Select(m => new { m.UserId, m.User!.UserName }).ToListAsync(ct);
                return members.Select(m => (m.UserId, m.UserName ?? "")).OrderBy(m => m.Item2, StringComparer.Ordinal).ToList();
            case ReservationAudience.Teams:
                var ids = Teams(r);
                var teams = await db.Groups.AsNoTracking().Where(g => ids.Contains(g.Id)).Select(g => new { g.Id, g.Name }).ToListAsync(ct);
                return teams.Select(t => (t.Id, t.Name)).OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
            default:
                var owner = await db.Users.AsNoTracking().Where(u => u.Id == r.OwnerId).Select(u => u.UserName).FirstAsync(ct);
                return [(r.OwnerId, owner ?? "")];
        }
    }
}
