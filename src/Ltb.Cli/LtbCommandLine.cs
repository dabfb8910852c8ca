using System.CommandLine;
using Ltb.Cli.Commands;

namespace Ltb.Cli;

/// <summary>The `ltb` command tree. Each command group lives in Commands/ and adds itself here.</summary>
public static class LtbCommandLine
{
    public static RootCommand Build()
    {
        var root = new RootCommand("LTB, the Lab Topology Builder: network labs of containers and VMs, described in YAML.");
        root.Subcommands.Add(HostCommands.Create());
        root.Subcommands.Add(TopologyCommands.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(AgentCommand.Create());
        root.Subcommands.Add(AdminCommands.Create());
        root.Subcommands.Add(AuthCommands.Login());
        root.Subcommands.Add(AuthCommands.Logout());
        root.Subcommands.Add(AuthCommands.WhoAmI());
        root.Subcommands.Add(LabCommands.Create());
        root.Subcommands.Add(LabCommands.ConsoleCommand());
        root.Subcommands.Add(LabCommands.CaptureCommand());
        root.Subcommands.Add(LabCommands.VncCommand());
        root.Subcommands.Add(LabCommands.ExtcapCommand());
        root.Subcommands.Add(TemplateCommands.Create());
        root.Subcommands.Add(VmImageCommands.Create());
        root.Subcommands.Add(ReservationCommands.Create());
        root.Subcommands.Add(CatalogCommands.Create());
        root.Subcommands.Add(UsageHistoryCommands.Create(new Option<string>("--server")
        {
            Description = "The LTB server's URL [env LTB_SERVER; default: the server of the last login]",
        }));
        root.Subcommands.Add(GatewayCommands.Create());
        return root;
    }
}
