using System.CommandLine;
using System.Globalization;
using Ltb.Cli.Api;
using Ltb.Cli.Output;
using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb lab access LAB`: how to reach the lab's nodes (GET /api/v1/labs/{lab}/access), as a table or document, or with
/// `--ssh-config` / `--ansible` the server's ~/.ssh/config snippet or Ansible inventory, verbatim, to redirect into a file.
/// </summary>
internal static class LabAccessCommand
{
    private static readonly TableView<NodeAccessDto> Nodes = new(
        new("NODE", n => n.Name),
        new("KIND", n => n.Kind),
        new("STATE", n => n.State),
        new("IPV4", n => n.MgmtIpv4 ?? ""),
        Column<NodeAccessDto>.WideOnly("IPV6", n => n.MgmtIpv6 ?? ""),
        // One line per port: where to connect on the host -> the node's port.
        new("PORTS", n => string.Join("\n", n.Ports.Select(p => $"{p.HostIp}:{Number(p.HostPort)}->{Number(p.NodePort)}/{p.Protocol}"))),
        new("USER", n => n.Credentials?.Username ?? ""),
        new("PASSWORD", n => n.Credentials?.Password ?? ""),
        new("GROUPS", n => string.Join(", ", n.Groups)),
        Column<NodeAccessDto>.WideOnly("ANSIBLE OS", n => n.AnsibleNetworkOs ?? ""),
        Column<NodeAccessDto>.WideOnly("SSH", n => n.SshCommand ?? ""));

    public static Command Create(Argument<string> lab, Option<string> server)
    {
        var sshConfig = new Option<bool>("--ssh-config") { Description = "Print an ~/.ssh/config snippet (a Host entry per node) instead." };
        var ansible = new Option<bool>("--ansible") { Description = "Print an Ansible inventory (YAML; groups from the topology's groups and the kinds) instead." };
        var output = new OutputOptions();
        var command = output.AddTo(new Command("access", "Show how to reach a lab's nodes: management addresses, published ports, default credentials, groups.")
        {
            lab, sshConfig, ansible, server,
        });
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            if (parse.GetValue(sshConfig) && parse.GetValue(ansible))
            {
                throw new Ltb.Client.LtbApiException(0, "give --ssh-config or --ansible, not both");
            }
            var settings = output.Read(parse);
            using var client = ServerConnection.Connect(parse.GetValue(server));
            var access = await client.GetLabAccessAsync(parse.GetValue(lab)!, ct);
            if (parse.GetValue(sshConfig) || parse.GetValue(ansible))
            {
                Console.Out.Write(parse.GetValue(sshConfig) ? access.SshConfig : access.AnsibleInventory);
                return 0;
            }
            var printer = Printer.ForConsole(settings);
            if (printer.Settings.IsDocument)
            {
                printer.Document(access);
                return 0;
            }
            printer.Line($"lab {access.Name}: {access.State}");
            printer.Table(Nodes.For(access.Nodes, printer.Wide));
            return 0;
        }));
        return command;
    }

    private static string Number(int n) => n.ToString(CultureInfo.InvariantCulture);
}
