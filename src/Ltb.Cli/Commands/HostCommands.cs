using System.CommandLine;
using Ltb.Cli.Output;
using Ltb.Runtime.Docker;

namespace Ltb.Cli.Commands;

/// <summary>`ltb host ...`: facts about this machine as a lab host.</summary>
internal static class HostCommands
{
    private static readonly TableView<(string Fact, string Value)> Facts = new(
        new("FACT", x => x.Fact),
        new("VALUE", x => x.Value));

    public static Command Create()
    {
        var output = new OutputOptions();
        var info = output.AddTo(new Command("info", "Show the container engine and the local node images of this host."));
        info.SetAction(async (parse, ct) =>
        {
            var printer = Printer.ForConsole(output.Read(parse));
            try
            {
                using var engine = DockerEngine.Connect();
                var facts = await engine.DescribeAsync(ct);
                if (facts.Isolation?.Warning("this host's engine") is { } warning)
                {
                    Console.Error.WriteLine($"warning: {warning}");
                }
                var isolation = facts.Isolation is { } iso
                    ? $"user namespaces {OnOff(iso.UserNamespaces)}, seccomp {OnOff(iso.Seccomp)}, AppArmor {OnOff(iso.AppArmor)}"
                    : "unknown";
                if (printer.Settings.IsDocument)
                {
                    printer.Document(new
                    {
                        engine = facts.EngineVersion, apiVersion = facts.ApiVersion, kernel = facts.KernelVersion,
                        cpus = facts.Cpus, memoryBytes = facts.MemoryBytes, images = facts.LtbImages,
                        isolation = facts.Isolation is { } i
                            ? new { userNamespaces = i.UserNamespaces, seccomp = i.Seccomp, appArmor = i.AppArmor }
                            : null,
                    });
                    return 0;
                }
                // One image per line: a terminal stacks them in the cell, plain output joins them on the row's line.
                var images = string.Join("\n", facts.LtbImages);
                printer.Table(Facts.For(
                [
                    ("engine", $"Docker {facts.EngineVersion} (API {facts.ApiVersion})"),
                    ("kernel", facts.KernelVersion),
                    ("cpus / memory", $"{facts.Cpus} / {facts.MemoryBytes / (1024 * 1024)} MiB"),
                    ("local node images", images),
                    ("isolation", isolation),
                ], printer.Wide));
                return 0;
            }
            catch (DockerUnavailableException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        var server = new Option<string>("--server") { Description = "The LTB server's URL [env LTB_SERVER; default: the server of the last login]" };
        return new Command("host", "This machine as a lab host (info, prune); the server's lab hosts' resource use (top).")
        {
            info, UsageCommands.HostTop(server), HostPruneCommand.Create(),
        };
    }

    private static string OnOff(bool on) => on ? "on" : "off";
}
