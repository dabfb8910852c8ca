using System.CommandLine;
using System.Globalization;
using Ltb.Cli.Api;
using Ltb.Cli.Output;
using Ltb.Client;
using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>
/// Usage history and accounting in the CLI (docs/api.md "Usage history and accounting"): `ltb lab top LAB --history 1h`,
/// `ltb host top --history 1d` (their history tables live here), `ltb usage top --by user|group|lab|host` (live sums)
/// and `ltb usage report --by ... --from ... --to ...` (node-hours, CPU-hours, memory-GiB-hours).
/// </summary>
internal static class UsageHistoryCommands
{
    private static readonly TableView<UsagePointDto> Points = new(
        new("TIME", p => Time(p.At)),
        new("NODES", p => p.Nodes.ToString("0.##", CultureInfo.InvariantCulture)),
        new("CPU %", p => p.CpuPercent.ToString("0.0", CultureInfo.InvariantCulture)),
        new("MEMORY", p => UsageCommands.Bytes((ulong)Math.Max(0, p.MemoryBytes))),
        new("RX", p => UsageCommands.Bytes((ulong)Math.Max(0, p.RxBytes))),
        new("TX", p => UsageCommands.Bytes((ulong)Math.Max(0, p.TxBytes))));

    private static readonly TableView<(string Host, UsagePointDto Machine, UsagePointDto Nodes)> HostPoints = new(
        new("HOST", p => p.Host),
        new("TIME", p => Time(p.Machine.At)),
        new("CPU %", p => p.Machine.CpuPercent.ToString("0.0", CultureInfo.InvariantCulture)),
        new("MEMORY", p => UsageCommands.Bytes((ulong)Math.Max(0, p.Machine.MemoryBytes))),
        new("NODES", p => p.Nodes.Nodes.ToString("0.##", CultureInfo.InvariantCulture)),
        new("NODES CPU %", p => p.Nodes.CpuPercent.ToString("0.0", CultureInfo.InvariantCulture)),
        new("NODES MEMORY", p => UsageCommands.Bytes((ulong)Math.Max(0, p.Nodes.MemoryBytes))));

    private static readonly TableView<UsageReportRowDto> Report = new(
        new("NAME", r => r.Name),
        new("NODE-HOURS", r => r.NodeHours.ToString("0.###", CultureInfo.InvariantCulture)),
        new("CPU-HOURS", r => r.CpuHours.ToString("0.###", CultureInfo.InvariantCulture)),
        new("MEMORY GIB-HOURS", r => r.MemoryGibHours.ToString("0.###", CultureInfo.InvariantCulture)),
        new("RX", r => UsageCommands.Bytes((ulong)Math.Max(0, r.RxBytes))),
        new("TX", r => UsageCommands.Bytes((ulong)Math.Max(0, r.TxBytes))),
        Column<UsageReportRowDto>.WideOnly("ID", r => r.Id?.ToString() ?? ""));

    private static readonly TableView<UsageSumDto> Sums = new(
        new("NAME", s => s.Name),
        new("NODES", s => s.Totals.Nodes.ToString(CultureInfo.InvariantCulture)),
        new("RUNNING", s => s.Totals.RunningNodes.ToString(CultureInfo.InvariantCulture)),
        new("CPU %", s => s.Totals.CpuPercent.ToString("0.0", CultureInfo.InvariantCulture)),
        new("MEMORY", s => UsageCommands.Bytes(s.Totals.MemoryBytes)),
        new("RX", s => UsageCommands.Bytes(s.Totals.RxBytes)),
        new("TX", s => UsageCommands.Bytes(s.Totals.TxBytes)),
        Column<UsageSumDto>.WideOnly("ID", s => s.Id?.ToString() ?? ""));

    public static Option<string?> HistoryOption() =>
        new("--history") { Description = "Instead of the live figures: the history of the last DURATION (e.g. 30m, 1h, 7d), one line per step." };

    public static Option<int?> StepOption() =>
        new("--step") { Description = "With --history: seconds per line (rounded up to what the history keeps for the period)." };

    private static Option<string> ByOption(string description)
    {
        var by = new Option<string>("--by") { Description = description, DefaultValueFactory = _ => "user" };
        by.AcceptOnlyFromAmong(["user", "group", "lab", "host"]);
        return by;
    }

    /// <summary>`ltb usage`: live sums and accounting reports across labs.</summary>
    public static Command Create(Option<string> server)
    {
        var by = ByOption("Sum per user, group, lab or host.");
        var topOutput = new OutputOptions();
        var top = topOutput.AddTo(new Command("top", "Live usage summed per user, group, lab or host (what you may see: yours; an instructor's groups; admins all).")
        {
            by, server,
        });
        top.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var printer = Printer.ForConsole(topOutput.Read(parse));
            using var client = ServerConnection.Connect(parse.GetValue(server));
            var sums = await client.GetUsageSumsAsync(parse.GetValue(by)!, ct);
            if (printer.Settings.IsDocument)
            {
                printer.Document(sums);
                return 0;
            }
            printer.Table(Sums.For(sums.Items, printer.Wide));
            printer.Line($"total: {sums.Total.RunningNodes} of {sums.Total.Nodes} nodes running, CPU {sums.Total.CpuPercent.ToString("0.0", CultureInfo.InvariantCulture)} %, memory {UsageCommands.Bytes(sums.Total.MemoryBytes)}");
            return 0;
        }));
        return new Command("usage", "Resource usage across labs: live sums (top) and accounting (report).") { top, ReportCommand(server) };
    }

    private static Command ReportCommand(Option<string> server)
    {
        var by = ByOption("One line per user, group, lab or host.");
        var from = new Option<string?>("--from") { Description = "The period's start: ISO 8601 (2026-12-01T00:00Z) or a DURATION ago (7d) [default: 30 days ago]." };
        var to = new Option<string?>("--to") { Description = "The period's end: ISO 8601 or a DURATION ago [default: now]." };
        var output = new OutputOptions();
        var report = output.AddTo(new Command("report", "Accounting: node-hours, CPU-hours and memory-GiB-hours per user, group, lab or host over a period.")
        {
            by, from, to, server,
        });
        report.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var printer = Printer.ForConsole(output.Read(parse));
            var window = new UsageWindow(When(parse.GetValue(from), "--from"), When(parse.GetValue(to), "--to"));
            using var client = ServerConnection.Connect(parse.GetValue(server));
            var r = await client.GetUsageReportAsync(parse.GetValue(by)!, window, ct);
            if (printer.Settings.IsDocument)
            {
                printer.Document(r);
                return 0;
            }
            printer.Line($"usage per {r.By} from {Time(r.From)} to {Time(r.To)}");
            printer.Table(Report.For([.. r.Rows, r.Total], printer.Wide));
            return 0;
        }));
        return report;
    }

    public static async Task<int> LabAsync(LtbApiClient client, Printer printer, string lab, string history, int? step, CancellationToken ct)
    {
        var h = await client.GetLabUsageHistoryAsync(lab, Window(history, step), ct);
        if (printer.Settings.IsDocument)
        {
            printer.Document(h);
            return 0;
        }
        printer.Line($"lab {lab} from {Time(h.From)} to {Time(h.To)}, {h.StepSeconds} s per line (averages; bytes during the step)");
        printer.Table(Points.For(h.Points, printer.Wide));
        return 0;
    }

    public static async Task<int> HostsAsync(LtbApiClient client, Printer printer, string history, int? step, CancellationToken ct)
    {
        var all = new List<HostUsageHistoryDto>();
        foreach (var host in (await client.ListHostsAsync(ct)).Items)
        {
            all.Add(await client.GetHostUsageHistoryAsync(host.Id, Window(history, step), ct));
        }
        if (printer.Settings.IsDocument)
        {
            printer.Document(all);
            return 0;
        }
        printer.Table(HostPoints.For(all.SelectMany(h => h.Machine.Zip(h.Nodes, (m, n) => (h.Name, m, n))), printer.Wide));
        return 0;
    }

    private static UsageWindow Window(string history, int? step) =>
        new(DateTimeOffset.UtcNow - Duration(history, "--history"), null, step);

    /// <summary>ISO 8601, or a duration before now.</summary>
    private static DateTimeOffset? When(string? text, string option) =>
        text is null ? null
        : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t
        : DateTimeOffset.UtcNow - Duration(text, option);

    /// <summary>A number and a unit: s, m, h or d (90m, 1h, 7d).</summary>
    internal static TimeSpan Duration(string text, string option)
    {
        var unit = text.Length > 1 ? text[^1] : ' ';
        if (unit is not ('s' or 'm' or 'h' or 'd') || !double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            throw new LtbApiException(0, $"{option} '{text}': write a duration such as 90s, 30m, 1h or 7d (or, for --from/--to, an ISO 8601 time)");
        }
        return unit switch { 's' => TimeSpan.FromSeconds(n), 'm' => TimeSpan.FromMinutes(n), 'h' => TimeSpan.FromHours(n), _ => TimeSpan.FromDays(n) };
    }

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture);
}
