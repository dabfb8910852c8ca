using System.CommandLine;
using System.Globalization;
using Ltb.Cli.Api;
using Ltb.Client;
using Ltb.Cli.Output;
using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>`ltb lab list` and `ltb lab inspect`: what they print, through <see cref="Printer"/> (-o table|wide|json|yaml).</summary>
internal static class LabViews
{
    private static readonly TableView<LabDto> Labs = new(
        new("NAME", l => l.Name),
        new("STATE", l => l.State),
        new("OWNER", l => l.Owner),
        new("NODES", l => Number(l.Nodes.Count)),
        new("HOST", HostText),
        Column<LabDto>.WideOnly("LINKS", l => Number(l.Links.Count)),
        Column<LabDto>.WideOnly("CREATED", l => l.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)),
        Column<LabDto>.WideOnly("ID", l => l.Id.ToString()),
        new("ERROR", l => l.Error ?? ""));

    private static readonly TableView<LabNodeDto> Nodes = new(
        new("NODE", n => n.Name),
        new("KIND", n => n.Kind),
        new("IMAGE", n => n.Image),
        new("STATE", n => n.State),
        new("IPV4", n => n.MgmtIpv4 ?? ""),
        Column<LabNodeDto>.WideOnly("IPV6", n => n.MgmtIpv6 ?? ""),
        Column<LabNodeDto>.WideOnly("CONTAINER", n => n.ContainerName ?? ""),
        // One line per interface; wide adds each one's MAC address.
        new("INTERFACES", n => string.Join("\n", n.Interfaces.Select(i => $"{i.Name}{Peer(i)}")),
            n => string.Join("\n", n.Interfaces.Select(i => $"{i.Name} {i.Mac}{Peer(i)}"))),
        Column<LabNodeDto>.WideOnly("ERROR", n => n.Error ?? ""));

    private static readonly TableView<(LabNodeDto Node, LabPortDto Port)> Ports = new(
        new("NODE", x => x.Node.Name),
        new("HOST ADDRESS", x => x.Port.HostIp),
        new("HOST PORT", x => Number(x.Port.HostPort)),
        new("NODE PORT", x => Number(x.Port.NodePort)),
        new("PROTOCOL", x => x.Port.Protocol));

    private static readonly TableView<LabLinkDto> Links = new(
        new("A", k => k.A),
        new("B", k => k.B ?? ""),
        new("STATE", k => k.State),
        Column<LabLinkDto>.WideOnly("TYPE", k => k.Type),
        Column<LabLinkDto>.WideOnly("KEY", k => k.Key));

    internal static readonly TableView<LabMirrorDto> Mirrors = new(
        new("MIRROR", m => m.Name),
        new("MIRRORS", m => $"{m.Node}:{m.Interface}"));

    public static Command List(Option<string> server)
    {
        var output = new OutputOptions();
        var command = output.AddTo(new Command("list", "List the labs you may see.") { server });
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var printer = Printer.ForConsole(output.Read(parse));
            using var client = ServerConnection.Connect(parse.GetValue(server));
            var labs = await client.ListLabsAsync(ct);
            if (printer.Settings.IsDocument)
            {
                printer.Document(labs.Items.Select(l => new { l.Name, l.State, l.Owner, Nodes = l.Nodes.Count, l.Host, l.HostState }));
                return 0;
            }
            printer.Table(Labs.For(labs.Items, printer.Wide));
            return 0;
        }));
        return command;
    }

    public static Command Inspect(Argument<string> lab, Option<string> server)
    {
        var output = new OutputOptions();
        var command = output.AddTo(new Command("inspect", "Show a lab's nodes, interfaces and links as the host sees them now.") { lab, server });
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var printer = Printer.ForConsole(output.Read(parse));
            using var client = ServerConnection.Connect(parse.GetValue(server));
            var l = await client.GetLabAsync(parse.GetValue(lab)!, ct);
            if (printer.Settings.IsDocument)
            {
                printer.Document(Document(l));
                return 0;
            }
            printer.Line($"lab {l.Name}: {l.State}{(l.Error is null ? "" : " - " + l.Error)}");
            if (l.Host is not null)
            {
                printer.Line($"host {HostText(l)}{(l.PlacementReason is null ? "" : " - placed: " + l.PlacementReason)}");
            }
            printer.Table(Nodes.For(l.Nodes, printer.Wide));
            // Published ports in a table of their own: where to connect (host address and port) for which node port.
            if (l.Nodes.Any(n => n.Ports is { Count: > 0 }))
            {
                printer.Table(Ports.For(l.Nodes.SelectMany(n => (n.Ports ?? []).Select(p => (n, p))), printer.Wide));
            }
            printer.Table(Links.For(l.Links, printer.Wide));
            if (l.Mirrors.Count > 0)
            {
                printer.Table(Mirrors.For(l.Mirrors, printer.Wide));
            }
            return 0;
        }));
        return command;
    }

    /// <summary>The stable document of `lab inspect -o json` (docs/api.md): only these keys, in this order.</summary>
    private static object Document(LabDto l) => new
    {
        name = l.Name,
        state = l.State,
        nodes = l.Nodes.Select(n => new
        {
            name = n.Name, kind = n.Kind, image = n.Image, state = n.State, mgmtIpv4 = n.MgmtIpv4, mgmtIpv6 = n.MgmtIpv6,
            interfaces = n.Interfaces.Select(i => new { name = i.Name, mac = i.Mac, peer = i.Peer }),
            ports = (n.Ports ?? []).Select(p => new { hostIp = p.HostIp, hostPort = p.HostPort, nodePort = p.NodePort, protocol = p.Protocol }),
        }),
        links = l.Links.Select(k => new { a = k.A, b = k.B, state = k.State }),
        mirrors = l.Mirrors.Select(m => new { name = m.Name, node = m.Node, @interface = m.Interface }),
    };

    /// <summary>The lab's host (or hosts, when it spans), with the state of any that is not ready.</summary>
    private static string HostText(LabDto l) => l.Hosts is { Count: > 0 } hosts
        ? string.Join(", ", hosts.Select(h => h.State == "ready" ? h.Name : $"{h.Name} ({h.State})"))
        : l.Host is null ? "" : l.HostState is null or "ready" ? l.Host : $"{l.Host} ({l.HostState})";

    private static string Peer(LabInterfaceDto i) => i.Peer is null ? "" : " -> " + i.Peer;

    private static string Number(int n) => n.ToString(CultureInfo.InvariantCulture);
}
