using System.Security.Cryptography;
using Ical.Net;
using Ical.Net.CalendarComponents;
using Ical.Net.DataTypes;
using Ical.Net.Serialization;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Reservations;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>
/// A user's reservations as an iCalendar feed at a secret URL (calendar programs send no bearer header): `POST
/// /me/calendar` makes a new secret (the old URL stops working), `DELETE` revokes it. Only the SHA-256 of the secret is
/// stored; the URL is shown once. Requests are not logged by path (the Microsoft categories log warnings only), so the
/// secret stays out of the server's log; the audit log records that a feed was made or revoked, not the secret.
/// </summary>
public static class CalendarEndpoints
{
    private const string Marker = "ltbcal_";

    /// <summary>How far back the feed reaches, and how many events it holds at most.</summary>
    private static readonly TimeSpan History = TimeSpan.FromDays(30);
    private const int MaxEvents = 1000;

    public static RouteGroupBuilder MapCalendarEndpoints(this RouteGroupBuilder api)
    {
        var me = api.MapGroup("/me/calendar").WithTags("Reservations");
        me.MapPost("/", CreateFeedAsync).WithName("CreateCalendarFeed")
            .WithSummary("Make the secret URL of one's iCalendar feed of reservations (a new one revokes the old)");
        me.MapDelete("/", RevokeFeedAsync).WithName("RevokeCalendarFeed").WithSummary("Revoke one's iCalendar feed URL");
        api.MapGet("/calendar/{secret}", FeedAsync).WithTags("Reservations").WithName("GetCalendarFeed").AllowAnonymous()
            .RequireRateLimiting(Hosting.RateLimits.Tokens)
            .WithSummary("The iCalendar feed of a user's reservations (the secret URL is the credential)");
        return api;
    }

    private static async Task<Created<CalendarFeedDto>> CreateFeedAsync(HttpRequest request, Caller caller, LtbDbContext db, AuditLog audit,
        TimeProvider clock, CancellationToken ct)
    {
        var secret = Marker + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var feed = await db.CalendarFeeds.FirstOrDefaultAsync(f => f.UserId == caller.UserId, ct);
        if (feed is null)
        {
            feed = new CalendarFeed { UserId = caller.UserId };
            db.CalendarFeeds.Add(feed);
        }
        (feed.Hash, feed.CreatedAt) = (ApiTokens.Hash(secret), clock.GetUtcNow());
        audit.Record(AuditActions.Created, "calendar-feed", caller.UserId, caller.UserName);
        await db.SaveChangesAsync(ct);
        var url = $"{request.Scheme}://{request.Host}{request.PathBase}/api/v1/calendar/{secret}.ics";
        return TypedResults.Created("/api/v1/me/calendar", new CalendarFeedDto(url, feed.CreatedAt));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeFeedAsync(Caller caller, LtbDbContext db, AuditLog audit, CancellationToken ct)
    {
        if (await db.CalendarFeeds.FirstOrDefaultAsync(f => f.UserId == caller.UserId, ct) is not { } feed)
        {
            return Problems.NotFound("calendar feed (make one with POST /api/v1/me/calendar)");
        }
        db.CalendarFeeds.Remove(feed);
        audit.Record(AuditActions.Deleted, "calendar-feed", caller.UserId, caller.UserName);
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<ContentHttpResult, ProblemHttpResult>> FeedAsync(string secret, LtbDbContext db, TimeProvider clock,
        CancellationToken ct)
    {
        var token = secret.EndsWith(".ics", StringComparison.Ordinal) ? secret[..^4] : secret;
        var hash = token.StartsWith(Marker, StringComparison.Ordinal) && token.Length <= 100 ? ApiTokens.Hash(token) : null;
        var feed = hash is null ? null : await db.CalendarFeeds.AsNoTracking().FirstOrDefaultAsync(f => f.Hash == hash, ct);
        // The same answer for a malformed, unknown or revoked secret.
        if (feed is null || !CryptographicOperations.FixedTimeEquals(feed.Hash, hash))
        {
            return Problems.NotFound("calendar feed");
        }
        var since = clock.GetUtcNow() - History;
        var groups = await db.GroupMembers.AsNoTracking().Where(m => m.UserId == feed.UserId).Select(m => m.GroupId).ToListAsync(ct);
        var rows = await db.Reservations.AsNoTracking()
            .Where(r => r.State != ReservationState.Cancelled && r.EndsAt > since
                && (r.OwnerId == feed.UserId || (r.GroupId != null && groups.Contains(r.GroupId.Value)) || r.Audience == ReservationAudience.Teams))
            .OrderBy(r => r.StartsAt).Take(MaxEvents * 2).ToListAsync(ct);
        var mine = rows.Where(r => r.OwnerId == feed.UserId || r.Audience != ReservationAudience.Teams || ReservationPlan.Teams(r).Any(groups.Contains))
            .Take(MaxEvents);
        var calendar = new Calendar { ProductId = "-//LTB//Lab Topology Builder//EN" };
        foreach (var r in mine)
        {
            calendar.Events.Add(new CalendarEvent
            {
                Uid = $"{r.Id}@ltb",
                Summary = $"Lab: {r.Name}",
                Description = $"Reservation '{r.Name}' ({ReservationsEndpoints.Name(r.State)}): labs of template version {r.TemplateVersion}",
                DtStart = new CalDateTime(r.StartsAt.UtcDateTime),
                DtEnd = new CalDateTime(r.EndsAt.UtcDateTime),
                Sequence = (int)Math.Min(int.MaxValue, r.Version),
            });
        }
        return TypedResults.Text(new CalendarSerializer().SerializeToString(calendar) ?? "", "text/calendar; charset=utf-8");
    }
}
