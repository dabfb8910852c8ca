using Ltb.Contracts;

namespace Ltb.Web.Components;

/// <summary>One reservation's part of one day (a reservation over midnight is cut into one entry per day it touches).</summary>
public sealed record CalendarEntry(ReservationDto Reservation, DateTime From, DateTime To, bool StartsBefore, bool EndsAfter)
{
    public string Span => $"{(StartsBefore ? "…" : "")}{From:HH:mm}–{To:HH:mm}{(EndsAfter ? "…" : "")}";
}

public sealed record CalendarDay(DateOnly Date, IReadOnlyList<CalendarEntry> Entries);

/// <summary>
/// The reservations calendar's model: the days shown (a week from Monday, or one day) and each reservation placed on the
/// days it touches, in the time zone the page shows (the server's, like every time on the pages), in start order.
/// </summary>
public static class Calendar
{
    public static DateOnly WeekStart(DateOnly day) => day.AddDays(-(((int)day.DayOfWeek + 6) % 7));

    public static IReadOnlyList<CalendarDay> Build(DateOnly first, int days, IEnumerable<ReservationDto> reservations, TimeZoneInfo zone)
    {
        var local = reservations
            .Select(r => (r, From: TimeZoneInfo.ConvertTime(r.StartsAt, zone).DateTime, To: TimeZoneInfo.ConvertTime(r.EndsAt, zone).DateTime))
            .OrderBy(x => x.From).ThenBy(x => x.r.Name, StringComparer.Ordinal).ToList();
        var result = new List<CalendarDay>(days);
        for (var i = 0; i < days; i++)
        {
            var date = first.AddDays(i);
            var dayStart = date.ToDateTime(TimeOnly.MinValue);
            var dayEnd = dayStart.AddDays(1);
            var entries = local.Where(x => x.From < dayEnd && x.To > dayStart)
                .Select(x => new CalendarEntry(x.r, Max(x.From, dayStart), Min(x.To, dayEnd), x.From < dayStart, x.To > dayEnd))
                .ToList();
            result.Add(new CalendarDay(date, entries));
        }
        return result;
    }

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;

    private static DateTime Min(DateTime a, DateTime b) => a < b ? a : b;
}
