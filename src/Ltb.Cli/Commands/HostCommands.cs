using System.CommandLine;
using Ltb.Runtime.Docker;
using Spectre.Console;

namespace Ltb.Cli.Commands;

/// <summary>`ltb host ...`: facts about this machine as a lab host.</summary>
internal static class HostCommands
{
    public static Command Create()
    {
        var info = new Command("info", "Show the container engine and the local node images of this host.");
        info.SetAction(async (_, ct) =>
        {
            try
            {
                using var engine = DockerEngine.Connect();
                var facts = await engine.DescribeAsync(ct);
                var table = new Table().AddColumn("fact").AddColumn("value");
                table.AddRow("engine", Markup.Escape($"Docker {facts.EngineVersion} (API {facts.ApiVersion})"));
                table.AddRow("kernel", Markup.Escape(facts.KernelVersion));
                table.AddRow("cpus / memory", $"{facts.Cpus} / {facts.MemoryBytes / (1024 * 1024)} MiB");
                table.AddRow("local node images", Markup.Escape(string.Join(", ", facts.LtbImages)));
                if (facts.Isolation is { } iso)
                {
                    table.AddRow("isolation", $"user namespaces {OnOff(iso.UserNamespaces)}, seccomp {OnOff(iso.Seccomp)}, AppArmor {OnOff(iso.AppArmor)}");
                }
                AnsiConsole.Write(table);
                if (facts.Isolation?.Warning("this host's engine") is { } warning)
                {
                    Console.Error.WriteLine($"warning: {warning}");
                }
                return 0;
            }
            catch (DockerUnavailableException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return new Command("host", "This machine as a lab host.") { info };
    }

    private static string OnOff(bool on) => on ? "on" : "[red]off[/]";
}
