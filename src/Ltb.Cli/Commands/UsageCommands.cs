using System.CommandLine;
using System.Globalization;
using Ltb.Cli.Api;
using Ltb.Cli.Output;
using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb lab top LAB` (a lab's nodes: CPU, memory, disk, traffic) and `ltb host top` (every host: CPU, memory, disk,
/// labs, nodes, free capacity; administrators), from the server's live usage (docs/api.md "Resource usage"); with
/// `--history` their history (<see cref="UsageHistoryCommands"/>).
/// </summary>
internal static class UsageCommands
{
    private static readonly TableView<NodeUsageDto> Nodes = new(
        new("NODE", n => n.Node),
        new("STATE", n => n.State),
        new("CPU %", n => Percent(n.CpuPercent)),
        new("MEMORY", n => Bytes(n.MemoryBytes)),
        Column<NodeUsageDto>.WideOnly("LIMIT", n => n.MemoryLimitBytes is { } l ? Bytes(l) : ""),
        Column<NodeUsageDto>.WideOnly("PIDS", n => Number(n.Pids)),
        new("DISK", n => n.DiskBytes is { } d ? Bytes((ulong)d) : ""),
        new("RX", n => Bytes(Sum(n, i => i.RxBytes))),
        new("TX", n => Bytes(Sum(n, i => i.TxBytes))),
        Column<NodeUsageDto>.WideOnly("RX PKTS", n => Number(Sum(n, i => i.RxPackets))),
        Column<NodeUsageDto>.WideOnly("TX PKTS", n => Number(Sum(n, i => i.TxPackets))),
        Column<NodeUsageDto>.WideOnly("ERRORS", n => Number(Sum(n, i => i.RxErrors + i.TxErrors))),
        Column<NodeUsageDto>.WideOnly("DROPS", n => Number(Sum(n, i => i.RxDropped + i.TxDropped))),
        Column<NodeUsageDto>.WideOnly("HOST", n => n.Host));

    private static readonly TableView<HostUsageDto> Hosts = new(
        new("HOST", h => h.Name),
        new("STATE", h => h.State),
        new("CPU %", h => Percent(h.CpuPercent)),
        new("CPUS", h => Number((ulong)h.Cpus)),
        new("MEMORY", h => $"{Bytes(h.MemoryUsedBytes)} / {Bytes(h.MemoryTotalBytes)}"),
        new("DISK", h => $"{Bytes(h.DiskUsedBytes)} / {Bytes(h.DiskTotalBytes)}"),
        new("LABS", h => Number((ulong)h.LabCount)),
        new("NODES", h => Number((ulong)h.NodeCount)),
        new("FREE CPUS", h => h.Free.Cpus.ToString("0.##", CultureInfo.InvariantCulture)),
        new("FREE MEMORY", h => Bytes((ulong)Math.Max(0, h.Free.MemoryBytes))),
        Column<HostUsageDto>.WideOnly("SAMPLED", h => h.At?.ToString("u", CultureInfo.InvariantCulture) ?? ""));

    public static Command LabTop(Argument<string> lab, Option<string> server)
    {
        var output = new OutputOptions();
        var (history, step) = (UsageHistoryCommands.HistoryOption(), UsageHistoryCommands.StepOption());
        var command = output.AddTo(new Command("top", "Show a lab's resource use per node: CPU, memory, disk, network (a few seconds old at most); with --history, over time.")
        {
            lab, history, step, server,
        });
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var printer = Printer.ForConsole(output.Read(parse));
            using var client = ServerConnection.Connect(parse.GetValue(server));
            if (parse.GetValue(history) is { } since)
            {
                return await UsageHistoryCommands.LabAsync(client, printer, parse.GetValue(lab)!, since, parse.GetValue(step), ct);
            }
            var usage = await client.GetLabUsageAsync(parse.GetValue(lab)!, ct);
            if (printer.Settings.IsDocument)
            {
                printer.Document(usage);
                return 0;
            }
            var t = usage.Totals;
            printer.Line($"lab {usage.Name}: {usage.State}; {t.RunningNodes} of {t.Nodes} nodes running, CPU {Percent(t.CpuPercent)} %, memory {Bytes(t.MemoryBytes)}, rx {Bytes(t.RxBytes)}, tx {Bytes(t.TxBytes)}");
            printer.Table(Nodes.For(usage.Nodes, printer.Wide));
            return 0;
        }));
        return command;
    }

    public static Command HostTop(Option<string> server)
    {
        var output = new OutputOptions();
        var (history, step) = (UsageHistoryCommands.HistoryOption(), UsageHistoryCommands.StepOption());
        var command = output.AddTo(new Command("top", "Show every lab host's resource use: CPU, memory, disk, labs, nodes, free capacity (administrators); with --history, over time.")
        {
            history, step, server,
        });
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var printer = Printer.ForConsole(output.Read(parse));
            using var client = ServerConnection.Connect(parse.GetValue(server));
            if (parse.GetValue(history) is { } since)
            {
                return await UsageHistoryCommands.HostsAsync(client, printer, since, parse.GetValue(step), ct);
            }
            var hosts = await client.ListHostsAsync(ct);
            var usage = new List<HostUsageDto>();
            foreach (var h in hosts.Items)
            {
                usage.Add(await client.GetHostUsageAsync(h.Id, ct));
            }
            if (printer.Settings.IsDocument)
            {
                printer.Document(usage);
                return 0;
            }
            printer.Table(Hosts.For(usage, printer.Wide));
            return 0;
        }));
        return command;
    }

    private static ulong Sum(NodeUsageDto n, Func<InterfaceUsageDto, ulong> f) => n.Interfaces.Aggregate(0UL, (a, i) => a + f(i));

    private static string Percent(double p) => p.ToString("0.0", CultureInfo.InvariantCulture);

    private static string Number(ulong n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>Binary units, one decimal.</summary>
    internal static string Bytes(ulong n)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        var value = (double)n;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{Number(n)} B" : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }
}
