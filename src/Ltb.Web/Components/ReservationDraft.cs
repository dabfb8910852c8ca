using System.Text.RegularExpressions;
using Ltb.Contracts;

namespace Ltb.Web.Components;

/// <summary>
/// The booking form's fields and what the form itself can say before asking the server (a name, a template, an end after
/// the start, a group for a group booking); everything else (capacity, quotas, who may book for whom) is the API's answer.
/// Times are the page's local times (the server's zone, like every time shown).
/// </summary>
public sealed partial class ReservationDraft
{
    public Guid? Id { get; set; }
    public string Name { get; set; } = "";
    public Guid? TemplateId { get; set; }
    public DateTime? StartsAt { get; set; }
    public DateTime? EndsAt { get; set; }

    /// <summary>The start as a datetime-local input holds it (yyyy-MM-ddTHH:mm); text that is no time leaves it empty.</summary>
    public string StartText
    {
        get => Format(StartsAt);
        set => StartsAt = Parse(value);
    }

    public string EndText
    {
        get => Format(EndsAt);
        set => EndsAt = Parse(value);
    }

    /// <summary>owner (a lab for me), members (one per member of the group) or teams (one per group).</summary>
    public string Audience { get; set; } = "owner";
    public Guid? GroupId { get; set; }

    /// <summary>At the end, each running lab is snapshotted for its owner before its removal.</summary>
    public bool SnapshotAtEnd { get; set; }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")]
    private static partial Regex ValidName();

    public static ReservationDraft From(ReservationDto r, TimeZoneInfo zone) => new()
    {
        Id = r.Id,
        Name = r.Name,
        TemplateId = r.TemplateId,
        StartsAt = TimeZoneInfo.ConvertTime(r.StartsAt, zone).DateTime,
        EndsAt = TimeZoneInfo.ConvertTime(r.EndsAt, zone).DateTime,
        Audience = r.Audience,
        GroupId = r.Audience == "teams" && r.TeamIds.Count > 0 ? r.TeamIds[0] : r.GroupId,
        SnapshotAtEnd = r.SnapshotAtEnd,
    };

    /// <summary>All the fields in one string: the form's capacity answer holds while it is unchanged.</summary>
    public string Key => $"{Name}|{TemplateId}|{StartText}|{EndText}|{Audience}|{GroupId}";

    /// <summary>Problems by field name (empty: the form may ask the server).</summary>
    public IReadOnlyDictionary<string, string> Problems()
    {
        var problems = new Dictionary<string, string>();
        if (!ValidName().IsMatch(Name))
        {
            problems["name"] = "letters, digits, '_' and '-', starting with a letter or digit, at most 40 characters (it names the labs)";
        }
        if (TemplateId is null)
        {
            problems["template"] = "choose the template to book";
        }
        if (StartsAt is null)
        {
            problems["startsAt"] = "give the start";
        }
        if (EndsAt is null)
        {
            problems["endsAt"] = "give the end";
        }
        else if (StartsAt is { } start && EndsAt <= start)
        {
            problems["endsAt"] = "is after the start";
        }
        if (Audience is "members" or "teams" && GroupId is null)
        {
            problems["group"] = "choose the group";
        }
        return problems;
    }

    public CreateReservationRequest ToCreate(TimeZoneInfo zone) =>
        new(Name, TemplateId!.Value, Instant(StartsAt!.Value, zone), Instant(EndsAt!.Value, zone), null, Audience,
            Audience == "members" ? GroupId : null, Audience == "teams" ? [GroupId!.Value] : null, SnapshotAtEnd);

    public UpdateReservationRequest ToUpdate(TimeZoneInfo zone) =>
        new(Instant(StartsAt!.Value, zone), Instant(EndsAt!.Value, zone), TemplateId, null, Audience,
            Audience == "members" ? GroupId : null, Audience == "teams" ? [GroupId!.Value] : null, SnapshotAtEnd);

    private const string InputFormat = "yyyy-MM-ddTHH:mm";

    private static string Format(DateTime? t) => t?.ToString(InputFormat, System.Globalization.CultureInfo.InvariantCulture) ?? "";

    private static DateTime? Parse(string? text) =>
        DateTime.TryParseExact(text, [InputFormat, InputFormat + ":ss"], System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.None, out var t) ? t : null;

    private static DateTimeOffset Instant(DateTime local, TimeZoneInfo zone) =>
        new(DateTime.SpecifyKind(local, DateTimeKind.Unspecified), zone.GetUtcOffset(DateTime.SpecifyKind(local, DateTimeKind.Unspecified)));

    /// <summary>The capacity answer of a plan, in words: how many labs on which hosts.</summary>
    public static string Fits(ReservationDto plan) =>
        $"Fits: {plan.Labs.Count} lab{(plan.Labs.Count == 1 ? "" : "s")} ({plan.LabCpus:0.##} CPU, {plan.LabMemoryBytes >> 20} MiB each) on " +
        string.Join(", ", plan.Labs.GroupBy(l => l.Host).Select(g => $"{g.Key} ({g.Count()})"));
}
