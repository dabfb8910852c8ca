using System.CommandLine;
using System.Globalization;
using System.Text;
using Ltb.Cli.Api;
using Ltb.Cli.Output;
using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb lab node info LAB NODE [--config]`: what a device is (GET /api/v1/labs/{lab}/nodes/{node}/info): its type, the
/// version it reports, image, groups, uptime, interfaces with addresses and counters; with --config its startup and
/// running configurations.
/// </summary>
internal static class NodeInfoCommand
{
    private static readonly TableView<NodeInterfaceDto> Interfaces = new(
        new("INTERFACE", i => i.Name),
        new("STATE", i => i.OperState.ToLowerInvariant()),
        new("ADDRESSES", i => string.Join("\n", i.Addresses)),
        new("PEER", i => i.Peer ?? ""),
        Column<NodeInterfaceDto>.WideOnly("MAC", i => i.Mac ?? ""),
        Column<NodeInterfaceDto>.WideOnly("MTU", i => Number(i.Mtu)),
        new("RX PKTS", i => Number(i.Counters?.RxPackets)),
        new("TX PKTS", i => Number(i.Counters?.TxPackets)),
        Column<NodeInterfaceDto>.WideOnly("RX BYTES", i => Number(i.Counters?.RxBytes)),
        Column<NodeInterfaceDto>.WideOnly("TX BYTES", i => Number(i.Counters?.TxBytes)),
        Column<NodeInterfaceDto>.WideOnly("ERRORS", i => Number(i.Counters is { } c ? c.RxErrors + c.TxErrors : null)),
        Column<NodeInterfaceDto>.WideOnly("DROPS", i => Number(i.Counters is { } c ? c.RxDropped + c.TxDropped : null)));

    public static Command Create(Argument<string> lab, Option<string> server)
    {
        var node = new Argument<string>("NODE") { Description = "The node." };
        var config = new Option<bool>("--config") { Description = "Also show the startup configuration and ask the device for its running configuration." };
        var output = new OutputOptions();
        var command = output.AddTo(new Command("info", "Show what a node is: type, vendor, OS and the version it reports, image, groups, uptime, interfaces with counters.")
        {
            lab, node, config, server,
        });
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var settings = output.Read(parse);
            using var client = ServerConnection.Connect(parse.GetValue(server));
            var info = await client.GetNodeInfoAsync(parse.GetValue(lab)!, parse.GetValue(node)!, parse.GetValue(config), ct);
            var printer = Printer.ForConsole(settings);
            if (printer.Settings.IsDocument)
            {
                printer.Document(info);
                return 0;
            }
            Summary(printer, info);
            printer.Table(Interfaces.For(info.Interfaces, printer.Wide));
            if (parse.GetValue(config))
            {
                Block("startup configuration", info.StartupConfig, info.StartupConfigTruncated, "none given");
                Block("running configuration", info.RunningConfig, info.RunningConfigTruncated, info.RunningConfigError ?? "none");
            }
            return 0;
        }));
        return command;
    }

    private static void Summary(Printer printer, NodeInfoDto i)
    {
        var device = i.DeviceType == i.Kind ? i.Kind : $"{i.Kind} (a {i.DeviceType} device by its image)";
        printer.Line($"node {i.Node} of lab {i.LabName}: {i.State}{(i.Host is null ? "" : $" on host {i.Host}")}");
        printer.Line($"type:     {device}; vendor {Or(i.Vendor)}, OS {Or(i.Os)}");
        printer.Line($"version:  {i.Version ?? $"unknown ({i.VersionError ?? "the device's answer names none"})"}");
        printer.Line($"image:    {i.Image}{(i.ImageDigests.Count > 0 ? $" ({string.Join(", ", i.ImageDigests)})" : i.ImageId is null ? "" : $" ({i.ImageId})")}");
        printer.Line($"groups:   {Or(string.Join(", ", i.Groups))}; labels: {Or(string.Join(", ", i.Labels.Select(kv => $"{kv.Key}={kv.Value}")))}");
        printer.Line($"uptime:   {(i.UptimeSeconds is { } s ? TimeSpan.FromSeconds(s).ToString("c", CultureInfo.InvariantCulture) : "-")}; disk written: {Bytes(i.DiskBytes)}");
    }

    /// <summary>A configuration as the device printed it, line by line; control characters other than tabs shown as '?'
    /// (a device's text must not drive the user's terminal).</summary>
    private static void Block(string title, string? text, bool truncated, string absent)
    {
        Console.WriteLine();
        Console.WriteLine($"--- {title}{(truncated ? " (cut at the size limit)" : "")}");
        var safe = new StringBuilder();
        foreach (var c in text ?? $"({absent})")
        {
            safe.Append(c is '\n' or '\t' || !char.IsControl(c) ? c : '?');
        }
        Console.WriteLine(safe.ToString().TrimEnd('\n'));
    }

    private static string Or(string s) => s.Length == 0 ? "-" : s;

    private static string Number(ulong? n) => n?.ToString(CultureInfo.InvariantCulture) ?? "";

    private static string Number(int n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Bytes(long? n) => n is { } b ? UsageCommands.Bytes((ulong)Math.Max(0, b)) : "-";
}
