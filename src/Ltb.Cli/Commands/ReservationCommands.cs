using System.CommandLine;
using System.Globalization;
using Ltb.Cli.Api;
using Ltb.Cli.Output;
using Ltb.Client;
using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb reservation ...`: book a template for a window (for oneself, each member of a group, or teams), list, show,
/// change, extend and cancel bookings, and the iCalendar feed's secret URL. Times are ISO 8601 (`2026-12-08T10:00Z`;
/// without an offset: UTC).
/// </summary>
internal static class ReservationCommands
{
    private static readonly Option<string> Server = new("--server")
    {
        Description = "The LTB server's URL [env LTB_SERVER; default: the server of the last login]",
    };

    public static Command Create()
    {
        var reservation = new Command("reservation", "Book lab capacity in advance: labs that come and go on time.");
        reservation.Subcommands.Add(CreateCommand());
        reservation.Subcommands.Add(List());
        reservation.Subcommands.Add(Show());
        reservation.Subcommands.Add(Update());
        reservation.Subcommands.Add(Extend());
        reservation.Subcommands.Add(Cancel());
        reservation.Subcommands.Add(Calendar());
        return reservation;
    }

    private static readonly Option<string?> Start = new("--start") { Description = "When the window starts (ISO 8601, e.g. 2026-12-08T10:00Z)." };
    private static readonly Option<string?> End = new("--end") { Description = "When it ends (ISO 8601)." };
    private static readonly Option<string?> Duration = new("--duration") { Description = "Instead of --end: how long (e.g. 2h, 90m)." };
    private static readonly Option<string?> Template = new("--template") { Description = "The template (name or id)." };
    private static readonly Option<int?> Version = new("--template-version") { Description = "The template's version [default: its current one]" };
    private static readonly Option<string?> Members = new("--members") { Description = "A lab for each member of this group (name or id)." };
    private static readonly Option<string[]> Teams = new("--team") { Description = "A lab for this team (a group; repeat for several)." };
    private static readonly Option<bool?> SnapshotAtEnd = new("--snapshot-at-end")
    {
        Description = "Snapshot each lab still running at the end before it is removed (its owner's snapshot); --snapshot-at-end false turns it off.",
        Arity = ArgumentArity.ZeroOrOne,
        // Written alone it means true (a nullable bool has no implicit value of its own).
        CustomParser = result =>
        {
            if (result.Tokens.Count == 0)
            {
                return true;
            }
            if (bool.TryParse(result.Tokens[0].Value, out var value))
            {
                return value;
            }
            result.AddError($"--snapshot-at-end '{result.Tokens[0].Value}' is not true or false");
            return null;
        },
    };

    private static Command CreateCommand()
    {
        var name = new Argument<string>("NAME") { Description = "The reservation's name (also its labs' name)." };
        var command = new Command("create", "Book a template for a window; refused with what is short, where and when, and the nearest window that fits.")
        {
            name, Template, Version, Start, End, Duration, Members, Teams, SnapshotAtEnd, Server,
        };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            var template = await TemplateCommands.ResolveAsync(client, parse.GetValue(Template)
                ?? throw new LtbApiException(0, "--template is required"), ct);
            var start = Time(parse.GetValue(Start) ?? throw new LtbApiException(0, "--start is required"), "--start");
            var end = EndOf(parse, start) ?? throw new LtbApiException(0, "--end or --duration is required");
            var (audience, group, teams) = await AudienceAsync(client, parse, ct);
            var created = await client.CreateReservationAsync(new CreateReservationRequest(parse.GetValue(name)!, template.Id, start, end,
                parse.GetValue(Version), audience, group, teams, parse.GetValue(SnapshotAtEnd)), ct);
            Print(created);
            return 0;
        }));
        return command;
    }

    private static readonly TableView<ReservationDto> Table = new(
        new("NAME", x => x.Name),
        new("START", x => Format(x.StartsAt)),
        new("END", x => Format(x.EndsAt)),
        new("STATE", x => x.State),
        new("LABS", x => x.Labs.Count.ToString(CultureInfo.InvariantCulture)),
        new("TEMPLATE", x => $"{x.Template}:{x.TemplateVersion}"),
        new("OWNER", x => x.Owner),
        Column<ReservationDto>.WideOnly("AUDIENCE", x => x.Audience),
        Column<ReservationDto>.WideOnly("HOSTS", x => string.Join(",", x.Labs.Select(l => l.Host).Distinct())),
        Column<ReservationDto>.WideOnly("ID", x => x.Id.ToString()),
        Column<ReservationDto>.WideOnly("NOTICE", x => x.Notice ?? ""));

    private static Command List()
    {
        var output = new OutputOptions();
        var scope = new Option<string?>("--scope") { Description = "mine, groups, or all (admins) [default: one's own and one's groups']" };
        scope.AcceptOnlyFromAmong("mine", "groups", "all");
        var command = output.AddTo(new Command("list", "List reservations.") { scope, Server });
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var printer = Printer.ForConsole(output.Read(parse));
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            var page = await client.ListReservationsAsync(parse.GetValue(scope) ?? "", ct);
            if (printer.Settings.IsDocument)
            {
                printer.Document(page.Items);
                return 0;
            }
            printer.Table(Table.For(page.Items, printer.Wide));
            return 0;
        }));
        return command;
    }

    private static readonly Argument<string> Id = new("RESERVATION") { Description = "The reservation's id, or the name of one of yours." };

    private static Command Show()
    {
        var output = new OutputOptions();
        var command = output.AddTo(new Command("show", "Show a reservation with its plan (each lab's host).") { Id, Server });
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var printer = Printer.ForConsole(output.Read(parse));
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            var r = await ResolveAsync(client, parse.GetValue(Id)!, ct);
            if (printer.Settings.IsDocument)
            {
                printer.Document(r);
                return 0;
            }
            Print(r);
            return 0;
        }));
        return command;
    }

    private static Command Update()
    {
        var command = new Command("update", "Change a scheduled reservation (admitted again; refused changes leave it as it was).")
        {
            Id, Template, Version, Start, End, Duration, Members, Teams, SnapshotAtEnd, Server,
        };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            var r = await ResolveAsync(client, parse.GetValue(Id)!, ct);
            var start = parse.GetValue(Start) is { } s ? Time(s, "--start") : (DateTimeOffset?)null;
            var end = EndOf(parse, start ?? r.StartsAt);
            var template = parse.GetValue(Template) is { } t ? (await TemplateCommands.ResolveAsync(client, t, ct)).Id : (Guid?)null;
            var changesAudience = parse.GetValue(Members) is not null || parse.GetValue(Teams) is { Length: > 0 };
            var (audience, group, teams) = changesAudience ? await AudienceAsync(client, parse, ct) : (null, null, null);
            Print(await client.UpdateReservationAsync(r.Id, new UpdateReservationRequest(start, end, template, parse.GetValue(Version), audience, group,
                teams, parse.GetValue(SnapshotAtEnd)), ct));
            return 0;
        }));
        return command;
    }

    private static Command Extend()
    {
        var until = new Option<string>("--until") { Description = "The new end (ISO 8601).", Required = true };
        var command = new Command("extend", "Move a reservation's end later while its labs run (when capacity allows, up to the policy's maximum).")
        {
            Id, until, Server,
        };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            var r = await ResolveAsync(client, parse.GetValue(Id)!, ct);
            Print(await client.ExtendReservationAsync(r.Id, new ExtendReservationRequest(Time(parse.GetValue(until)!, "--until")), ct));
            return 0;
        }));
        return command;
    }

    private static Command Cancel()
    {
        var command = new Command("cancel", "Cancel a reservation (labs it deployed are removed).") { Id, Server };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            var r = await ResolveAsync(client, parse.GetValue(Id)!, ct);
            var cancelled = await client.CancelReservationAsync(r.Id, ct);
            Console.WriteLine($"reservation '{cancelled.Name}' cancelled");
            return 0;
        }));
        return command;
    }

    private static Command Calendar()
    {
        var revoke = new Option<bool>("--revoke") { Description = "Revoke the feed's URL instead." };
        var command = new Command("calendar", "Make a new secret URL of your iCalendar feed of reservations (the old one stops working).") { revoke, Server };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            if (parse.GetValue(revoke))
            {
                await client.RevokeCalendarFeedAsync(ct);
                Console.WriteLine("calendar feed revoked");
                return 0;
            }
            var feed = await client.CreateCalendarFeedAsync(ct);
            Console.WriteLine(feed.Url);
            return 0;
        }));
        return command;
    }

    // ------------------------------------------------------------------ helpers

    private static async Task<(string? Audience, Guid? Group, IReadOnlyList<Guid>? Teams)> AudienceAsync(LtbApiClient client, ParseResult parse,
        CancellationToken ct)
    {
        if (parse.GetValue(Members) is { } members)
        {
            return ("members", await TemplateCommands.GroupIdAsync(client, members, ct), null);
        }
        if (parse.GetValue(Teams) is { Length: > 0 } teams)
        {
            var ids = new List<Guid>();
            foreach (var team in teams)
            {
                ids.Add(await TemplateCommands.GroupIdAsync(client, team, ct));
            }
            return ("teams", null, ids);
        }
        return ("owner", null, null);
    }

    private static async Task<ReservationDto> ResolveAsync(LtbApiClient client, string idOrName, CancellationToken ct)
    {
        if (Guid.TryParse(idOrName, out var id))
        {
            return await client.GetReservationAsync(id, ct);
        }
        var mine = (await client.ListReservationsAsync("mine", ct)).Items.Where(r => r.Name == idOrName && r.State is "scheduled" or "active").ToList();
        return mine.Count == 1 ? mine[0]
            : throw new LtbApiException(0, mine.Count == 0
                ? $"no scheduled or active reservation of yours named '{idOrName}' (ltb reservation list)"
                : $"several reservations of yours are named '{idOrName}'; give the id (ltb reservation list -o wide)");
    }

    private static DateTimeOffset? EndOf(ParseResult parse, DateTimeOffset start)
    {
        if (parse.GetValue(End) is { } end)
        {
            return Time(end, "--end");
        }
        if (parse.GetValue(Duration) is not { } text)
        {
            return null;
        }
        var unit = text.Length > 0 ? text[^1] : ' ';
        if (!double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n <= 0 || unit is not ('h' or 'm'))
        {
            throw new LtbApiException(0, $"--duration '{text}': write hours or minutes, e.g. 2h or 90m");
        }
        return start + (unit == 'h' ? TimeSpan.FromHours(n) : TimeSpan.FromMinutes(n));
    }

    private static DateTimeOffset Time(string text, string option) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t
            : throw new LtbApiException(0, $"{option} '{text}' is not a time; write ISO 8601, e.g. 2026-12-08T10:00Z");

    private static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture);

    private static void Print(ReservationDto r)
    {
        Console.WriteLine($"reservation '{r.Name}' ({r.State}): {Format(r.StartsAt)} to {Format(r.EndsAt)}, template {r.Template} version " +
            $"{r.TemplateVersion}, {r.Labs.Count} lab(s) of {r.LabCpus.ToString("0.##", CultureInfo.InvariantCulture)} CPUs and " +
            $"{r.LabMemoryBytes / (1 << 20)} MiB; id {r.Id}");
        foreach (var lab in r.Labs)
        {
            Console.WriteLine($"  {lab.Recipient}: host {lab.Host}{(lab.LabId is { } id ? $", lab {id}" : "")}");
        }
        if (r.SnapshotAtEnd)
        {
            Console.WriteLine("  at its end each running lab is snapshotted (its owner's snapshot), then removed");
        }
        if (r.Notice is { } notice)
        {
            Console.WriteLine($"  notice: {notice}");
        }
    }
}
