using System.CommandLine;
using System.Net.Http.Headers;
using Ltb.Cli.Api;
using Ltb.Client;
using Ltb.Contracts;
using Ltb.Topology;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb lab ...`: deploy, list, inspect, exec, destroy, node and link operations, all through the LTB server
/// (`ltb login` first). Errors are one line on stderr (topology diagnostics one per line) and exit code 1; `lab exec`
/// exits with the command's own exit code.
/// </summary>
internal static class LabCommands
{
    private static readonly Option<string> Server = new("--server")
    {
        Description = "The LTB server's URL [env LTB_SERVER; default: the server of the last login]",
    };

    public static Command Create()
    {
        var lab = new Command("lab", "Deploy and work with labs on an LTB server.");
        lab.Subcommands.Add(Deploy());
        lab.Subcommands.Add(LabViews.List(Server));
        lab.Subcommands.Add(LabViews.Inspect(LabArgument(), Server));
        lab.Subcommands.Add(LabAccessCommand.Create(LabArgument(), Server));
        lab.Subcommands.Add(Exec());
        lab.Subcommands.Add(Logs());
        lab.Subcommands.Add(Destroy());
        lab.Subcommands.Add(LabEventsCommand.Create(Server));
        lab.Subcommands.Add(NodeCommand());
        lab.Subcommands.Add(UsageCommands.LabTop(LabArgument(), Server));
        lab.Subcommands.Add(LinkCommand());
        lab.Subcommands.Add(MirrorCommands.Create(LabArgument, Server));
        lab.Subcommands.Add(SnapshotCommands.Create(LabArgument, Server));
        lab.Subcommands.Add(SnapshotCommands.Export(LabArgument(), Server));
        lab.Subcommands.Add(SnapshotCommands.Import(Server));
        return lab;
    }

    internal static Argument<string> LabArgument() => new("LAB") { Description = "The lab's name (one of yours) or id." };

    /// <summary>Follows a deployment's task (deploy, restore) until the lab runs; its error otherwise.</summary>
    internal static async Task FollowDeploymentAsync(LtbApiClient client, LabTaskAccepted accepted, CancellationToken ct)
    {
        var task = await new TaskFollower(client, accepted.Lab.Id).FollowAsync(accepted.Task, ct);
        if (task.State != "succeeded")
        {
            throw new LtbApiException(0, task.Error ?? $"lab '{accepted.Lab.Name}': the deployment ended {task.State}");
        }
        Console.WriteLine($"lab '{accepted.Lab.Name}' is running");
    }

    // ------------------------------------------------------------------ deploy

    private static Command Deploy()
    {
        var topology = new Option<FileInfo>("--topology", "-t") { Description = "The topology file (containerlab or LTB)." };
        var template = new Option<string?>("--template") { Description = "Deploy a stored template instead (its name or id; ltb template list)." };
        var templateVersion = new Option<int?>("--template-version") { Description = "With --template: the version to deploy (ltb template show) [default: the current one]" };
        var name = new Option<string?>("--name") { Description = "The lab's name [default: the topology's name]" };
        var reconfigure = new Option<bool>("--reconfigure") { Description = "Apply the topology onto your running lab of the same name." };
        var rollback = new Option<bool>("--rollback") { Description = "On failure remove what did deploy (default: keep it, failed, to inspect and destroy)." };
        var backend = new Option<string>("--link-backend")
        {
            Description = "How node-to-node links are carried: veth (a veth pair per link), linux-bridge or ovs (a bridge per link).",
            DefaultValueFactory = _ => "veth",
        };
        backend.AcceptOnlyFromAmong("veth", "linux-bridge", "ovs");
        var host = new Option<string?>("--host") { Description = "The lab host to deploy on (ltb: GET /api/v1/hosts) [default: placement chooses a ready host with room for the lab]" };
        var command = new Command("deploy", "Deploy a lab: uploads the topology and the files it references (or names a stored template), shows progress, waits until it runs.")
        {
            topology, template, templateVersion, name, reconfigure, rollback, backend, host, Server,
        };
        command.SetAction((parse, ct) => Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            var file = parse.GetValue(topology);
            if ((file is null) == (parse.GetValue(template) is null))
            {
                throw new LtbApiException(0, "give a topology file (-t FILE) or a stored template (--template NAME), one of the two");
            }
            if (file is { Exists: false })
            {
                throw new LtbApiException(0, $"{file}: no such file");
            }
            if (file is not null && parse.GetValue(templateVersion) is not null)
            {
                throw new LtbApiException(0, "--template-version goes with --template, not with a topology file");
            }
            using var content = file is not null
                ? Upload(file, parse.GetValue(name), parse.GetValue(reconfigure), parse.GetValue(rollback), parse.GetValue(backend)!)
                : Options(new MultipartFormDataContent { { new StringContent((await TemplateCommands.ResolveAsync(client, parse.GetValue(template)!, ct)).Id.ToString()), "template" } },
                    parse.GetValue(name), parse.GetValue(reconfigure), parse.GetValue(rollback), parse.GetValue(backend)!);
            if (parse.GetValue(templateVersion) is { } version)
            {
                content.Add(new StringContent(version.ToString(System.Globalization.CultureInfo.InvariantCulture)), "templateVersion");
            }
            if (parse.GetValue(host) is { } hostName)
            {
                content.Add(new StringContent(hostName), "host");
            }
            var accepted = await client.DeployLabAsync(content, ct);
            Console.WriteLine($"lab '{accepted.Lab.Name}': {accepted.Task.Kind} task {accepted.Task.Id} queued");
            await FollowDeploymentAsync(client, accepted, ct);
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// The topology plus every file it references inside its folder (bind sources, startup configs, env-files, licenses), with paths
    /// relative to that folder: the server stores them the same way, so relative references resolve there too. Host
    /// paths outside the folder are not uploaded (only admins may use them, and they name files on the server's host).
    /// </summary>
    private static MultipartFormDataContent Upload(FileInfo topology, string? name, bool reconfigure, bool rollback, string linkBackend)
    {
        var folder = topology.Directory!.FullName;
        var content = new MultipartFormDataContent();
        AddFile(content, "topology", topology.FullName, topology.Name);
        foreach (var relative in ReferencedFiles(topology.FullName, folder))
        {
            AddFile(content, "files", Path.Combine(folder, relative), relative);
        }
        return Options(content, name, reconfigure, rollback, linkBackend);
    }

    /// <summary>The deployment's fields, beside the topology (or the template) of the upload.</summary>
    private static MultipartFormDataContent Options(MultipartFormDataContent content, string? name, bool reconfigure, bool rollback, string linkBackend)
    {
        if (name is not null)
        {
            content.Add(new StringContent(name), "name");
        }
        content.Add(new StringContent(reconfigure ? "true" : "false"), "reconfigure");
        content.Add(new StringContent(rollback ? "rollback" : "keep"), "onFailure");
        content.Add(new StringContent(linkBackend), "linkBackend");
        return content;
    }

    internal static void AddFile(MultipartFormDataContent content, string field, string path, string relative)
    {
        var part = new ByteArrayContent(File.ReadAllBytes(path));
        part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Add(part, field, relative.Replace(Path.DirectorySeparatorChar, '/'));
    }

    internal static SortedSet<string> ReferencedFiles(string topology, string folder)
    {
        // Loaded locally only to find the references; the server validates again with the caller's rights.
        var files = new SortedSet<string>(StringComparer.Ordinal);
        var lab = TopologyLoader.LoadFile(topology, new LoadOptions { Trusted = true }).Lab;
        if (lab is null)
        {
            return files;
        }
        var paths = lab.Nodes.SelectMany(n => n.Binds.Select(b => b.Source)
                .Append(n.StartupConfig?.Path).Append(n.License).Concat(n.EnvFiles.Select(e => e.Path)))
            .OfType<string>();
        var root = folder.TrimEnd('/') + "/";
        foreach (var p in paths.Where(p => p.StartsWith(root, StringComparison.Ordinal)))
        {
            if (File.Exists(p))
            {
                files.Add(Path.GetRelativePath(folder, p));
            }
            else if (Directory.Exists(p))
            {
                foreach (var f in Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories))
                {
                    files.Add(Path.GetRelativePath(folder, f));
                }
            }
        }
        return files;
    }

    // ------------------------------------------------------------------ operate

    /// <summary>`ltb console LAB NODE`: top-level, as the way to a node's prompt.</summary>
    public static Command ConsoleCommand()
    {
        var lab = LabArgument();
        var node = new Argument<string>("NODE") { Description = "The node." };
        var session = new Option<Guid?>("--session") { Description = "Reattach to this console session (printed when you leave one with Ctrl-])." };
        var target = new Option<string?>("--target")
        {
            Description = "What to connect to instead of the node type's console: shell (in the container), serial (a VM's serial console), ssh or telnet (the node's own server).",
        };
        target.AcceptOnlyFromAmong("shell", "serial", "ssh", "telnet");
        var command = new Command("console", "Open a node's console in this terminal (its type's console: a login shell, a VM's serial line, ssh or telnet; Ctrl-] leaves, the session stays a minute).")
        {
            lab, node, session, target, Server,
        };
        command.SetAction((parse, ct) => Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            return await InteractiveExec.ConsoleAsync(client, parse.GetValue(lab)!, parse.GetValue(node)!, parse.GetValue(session), ct,
                parse.GetValue(target));
        }));
        return command;
    }

    public static Command CaptureCommand() => Commands.CaptureCommand.Create(LabArgument(), Server);

    /// <summary>`ltb vnc LAB NODE`: a VM node's display for a local VNC viewer.</summary>
    public static Command VncCommand() => Commands.VncCommand.Create(LabArgument(), Server);

    /// <summary>`ltb extcap`: Wireshark's extcap interface to live captures.</summary>
    public static Command ExtcapCommand() => Commands.ExtcapCommand.Create(Server);

    private static Command Exec()
    {
        var lab = LabArgument();
        var node = new Argument<string>("NODE") { Description = "The node." };
        var argv = new Argument<string[]>("CMD") { Arity = ArgumentArity.OneOrMore, Description = "The command and its arguments (after --); run without a shell." };
        var timeout = new Option<int?>("--timeout") { Description = "Seconds to wait for the command [default: 60; not with -i/-t]" };
        var interactive = new Option<bool>("--interactive", "-i") { Description = "Pipe standard input to the command (and its output back as it comes)." };
        var tty = new Option<bool>("--tty", "-t") { Description = "Give the command a terminal that follows this one's size (raw mode; with -i: `-it`)." };
        var command = new Command("exec", "Run a command in a node; prints its output and exits with its exit code.")
        {
            lab, node, argv, timeout, interactive, tty, Server,
        };
        command.SetAction((parse, ct) => Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            if (parse.GetValue(interactive) || parse.GetValue(tty))
            {
                return await InteractiveExec.RunAsync(client, parse.GetValue(lab)!, parse.GetValue(node)!, parse.GetValue(argv)!, parse.GetValue(tty), ct);
            }
            var result = await client.ExecInNodeAsync(parse.GetValue(lab)!,
                new ExecRequest(parse.GetValue(node)!, parse.GetValue(argv)!, parse.GetValue(timeout)), ct);
            Console.Out.Write(result.Stdout);
            Console.Error.Write(result.Stderr);
            if (result.Note is { } note)
            {
                // Cut at the server's limit: said on stderr, so that the output itself stays what the command wrote.
                Console.Error.WriteLine($"{(result.Stderr.Length > 0 && !result.Stderr.EndsWith('\n') ? "\n" : "")}ltb: {note}");
            }
            return result.ExitCode is >= 0 and <= 255 ? (int)result.ExitCode : 1;
        }));
        return command;
    }

    private static Command Logs()
    {
        var lab = LabArgument();
        var node = new Argument<string>("NODE") { Description = "The node." };
        var tail = new Option<int?>("--tail", "-n") { Description = "Only the last N lines [default: all]" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing what the node writes (Ctrl-C to stop)." };
        var command = new Command("logs", "Print a node's output (stdout and stderr), also of a failed lab's nodes.") { lab, node, tail, follow, Server };
        command.SetAction((parse, ct) => Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            var query = $"follow={(parse.GetValue(follow) ? "true" : "false")}" +
                (parse.GetValue(tail) is { } n ? $"&tail={n.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : "");
            await client.GetNodeLogsAsync(parse.GetValue(lab)!, parse.GetValue(node)!, query, Console.Out, ct, notes: Console.Error);
            return 0;
        }));
        return command;
    }

    private static Command Destroy()
    {
        var lab = LabArgument();
        var command = new Command("destroy", "Remove a lab and everything it created on its host; waits until it is gone.") { lab, Server };
        command.SetAction((parse, ct) => Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            var accepted = await client.DestroyLabAsync(parse.GetValue(lab)!, ct);
            var task = await new TaskFollower(client, accepted.Lab.Id).FollowAsync(accepted.Task, ct);
            if (task.State != "succeeded")
            {
                throw new LtbApiException(0, task.Error ?? $"lab '{accepted.Lab.Name}': the removal ended {task.State}");
            }
            Console.WriteLine($"lab '{accepted.Lab.Name}' destroyed");
            return 0;
        }));
        return command;
    }

    private static Command NodeCommand()
    {
        var node = new Command("node", "Stop, start or restart a node; show what it is (info).");
        node.Subcommands.Add(NodeInfoCommand.Create(LabArgument(), Server));
        foreach (var action in new[] { "stop", "start", "restart" })
        {
            var lab = LabArgument();
            var name = new Argument<string>("NODE") { Description = "The node." };
            var command = new Command(action, $"{char.ToUpperInvariant(action[0])}{action[1..]} a node of a lab.") { lab, name, Server };
            command.SetAction((parse, ct) => Run(async () =>
            {
                using var client = ServerConnection.Connect(parse.GetValue(Server));
                var status = await client.ControlNodeAsync(parse.GetValue(lab)!, parse.GetValue(name)!, action, ct);
                Console.WriteLine($"node {status.Name}: {status.State}");
                return 0;
            }));
            node.Subcommands.Add(command);
        }
        return node;
    }

    private static Command LinkCommand()
    {
        var link = new Command("link", "Set a link down or up (both ends lose or regain carrier).");
        foreach (var state in new[] { "down", "up" })
        {
            var lab = LabArgument();
            var end = new Argument<string>("NODE:IFACE") { Description = "One end of the link." };
            var command = new Command(state, $"Set a link {state}.") { lab, end, Server };
            command.SetAction((parse, ct) => Run(async () =>
            {
                var text = parse.GetValue(end)!;
                if (text.Split(':') is not [{ Length: > 0 } n, { Length: > 0 } i])
                {
                    throw new LtbApiException(0, $"'{text}' is not NODE:IFACE");
                }
                using var client = ServerConnection.Connect(parse.GetValue(Server));
                await client.SetLinkStateAsync(parse.GetValue(lab)!, n, i, state, ct);
                Console.WriteLine($"link {text}: {state}");
                return 0;
            }));
            link.Subcommands.Add(command);
        }
        return link;
    }

    /// <summary>Runs a command body; an API error is one line on stderr (each diagnostic its own line) and exit code 1.</summary>
    internal static async Task<int> Run(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (LtbApiException e)
        {
            if (e.Details.Count > 1)
            {
                foreach (var d in e.Details)
                {
                    Console.Error.WriteLine(d);
                }
            }
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
