using System.CommandLine;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Server.Hosting;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb host prune [--dry-run]`: removes from this host every LTB lab (nodes, networks, namespaces, host interfaces, OVS
/// bridges, VXLAN devices, lab folders) that its controller does not know: labs left behind by a controller whose data
/// folder or database is gone, or by a remote host's controller that is gone for good.
/// </summary>
internal static class HostPruneCommand
{
    public static Command Create()
    {
        var store = new ServeCommand.StoreOptions();
        var agentData = new Option<string>("--agent-data")
        {
            Description = "This host is a remote lab host (`ltb agent --data DIR`) whose controller is gone for good: every LTB lab on it is " +
                "removed, and the agent's lab folders with them (instead of comparing with a controller's database)",
        };
        var prefix = new Option<string>("--lab-prefix") { Description = "Only labs whose runtime name starts with this" };
        var dryRun = new Option<bool>("--dry-run") { Description = "List what would be removed and remove nothing" };
        var prune = new Command("prune", "Remove the labs on this host that its controller does not know (left behind when the controller's " +
            "data folder or database was lost). Compares with the database of `ltb serve` given by --data/--database/--connection-string " +
            "(the same as the server's), or with none (--agent-data). Run it with --dry-run first.")
        {
            agentData, prefix, dryRun,
        };
        store.AddTo(prune);
        prune.SetAction(async (parse, ct) =>
        {
            string stateDirectory;
            IReadOnlySet<string>? known;
            if (parse.GetValue(agentData) is { } agentFolder)
            {
                stateDirectory = Path.Combine(agentFolder, "runtime");
                known = new HashSet<string>();
                Console.WriteLine($"comparing with no controller (--agent-data {agentFolder}): every LTB lab on this host is left over");
            }
            else
            {
                if (store.Read(parse, out var error) is not { } options)
                {
                    return ServeCommand.Fail(error!);
                }
                stateDirectory = AgentDirectory.LocalStateDirectory(options);
                try
                {
                    known = await KnownLabs.RuntimeNamesAsync(options, ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    return ServeCommand.Fail($"the controller's database could not be read ({e.GetBaseException().Message}); " +
                        "give the server's --data, --database and --connection-string, or --agent-data on a remote host");
                }
                Console.WriteLine(known is null
                    ? $"no LTB database in {options.DataDirectory}: the controller knows no lab, every LTB lab on this host is left over"
                    : $"the controller's database knows {known.Count} lab(s); those stay");
                known ??= new HashSet<string>();
            }
            return await PruneAsync(stateDirectory, known, parse.GetValue(prefix), parse.GetValue(dryRun), ct);
        });
        return prune;
    }

    private static async Task<int> PruneAsync(string stateDirectory, IReadOnlySet<string> known, string? prefix, bool dryRun, CancellationToken ct)
    {
        DockerEngine engine;
        try
        {
            engine = DockerEngine.Connect();
            await engine.DescribeAsync(ct);
        }
        catch (DockerUnavailableException e)
        {
            return ServeCommand.Fail(e.Message);
        }
        using (engine)
        {
            var runtime = new LabRuntime(engine, options: new RuntimeOptions { StateDirectory = stateDirectory });
            var labs = (await runtime.SurveyHostAsync(ct)).Where(l => prefix is null || l.Lab.StartsWith(prefix, StringComparison.Ordinal)).ToList();
            var leftover = labs.Where(l => !known.Contains(l.Lab)).ToList();
            foreach (var kept in labs.Where(l => known.Contains(l.Lab)))
            {
                Console.WriteLine($"keep   lab {kept.Lab} (the controller knows it; {kept.Objects.Count} object(s))");
            }
            foreach (var lab in leftover)
            {
                Console.WriteLine($"{(dryRun ? "would remove" : "remove")} lab {lab.Lab}:");
                foreach (var o in lab.Objects)
                {
                    Console.WriteLine($"    {o}");
                }
                if (!dryRun)
                {
                    await runtime.PruneAsync(lab, ct);
                }
            }
            if (dryRun || leftover.Count == 0)
            {
                Console.WriteLine(leftover.Count == 0 ? "nothing to remove" : $"dry run: {leftover.Count} lab(s) would be removed, nothing was changed");
                return 0;
            }
            // What the marks still show of the removed labs: nothing, unless an object refused to go.
            var removed = leftover.Select(l => l.Lab).ToHashSet(StringComparer.Ordinal);
            var still = (await runtime.SurveyHostAsync(ct)).Where(l => removed.Contains(l.Lab)).ToList();
            foreach (var lab in still)
            {
                Console.Error.WriteLine($"error: lab {lab.Lab} still has {string.Join(", ", lab.Objects)}");
            }
            Console.WriteLine($"removed {leftover.Count - still.Count} lab(s)");
            return still.Count == 0 ? 0 : 1;
        }
    }
}
