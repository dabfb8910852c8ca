using System.CommandLine;
using Ltb.Cli.Api;
using Ltb.Cli.Output;
using Ltb.Client;
using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb lab mirror add LAB NODE:IFACE [--name NAME]`, `ltb lab mirror remove LAB NAME`, `ltb lab mirror list LAB`: mirror
/// interfaces (a copy of both directions of a link end's traffic; capture one with `ltb capture LAB --mirror NAME`). Adding
/// and removing run as tasks on the lab's host and wait for them.
/// </summary>
internal static class MirrorCommands
{
    public static Command Create(Func<Argument<string>> labArgument, Option<string> server)
    {
        var mirror = new Command("mirror", "Mirror interfaces: a copy of a link end's traffic, to capture.");
        mirror.Subcommands.Add(Add(labArgument(), server));
        mirror.Subcommands.Add(Remove(labArgument(), server));
        mirror.Subcommands.Add(List(labArgument(), server));
        return mirror;
    }

    private static Command Add(Argument<string> lab, Option<string> server)
    {
        var end = new Argument<string>("NODE:IFACE") { Description = "The link end to mirror, e.g. router1:eth1." };
        var name = new Option<string?>("--name") { Description = "The mirror interface's name [default: NODE-IFACE]" };
        var command = new Command("add", "Create a mirror interface on a link end; waits until it exists.") { lab, end, name, server };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var text = parse.GetValue(end)!;
            if (text.Split(':') is not [{ Length: > 0 } node, { Length: > 0 } iface])
            {
                throw new LtbApiException(0, $"'{text}' is not NODE:IFACE");
            }
            using var client = ServerConnection.Connect(parse.GetValue(server));
            var accepted = await client.CreateMirrorAsync(parse.GetValue(lab)!, new CreateMirrorRequest(node, iface, parse.GetValue(name)), ct);
            await FollowAsync(client, accepted, ct);
            return 0;
        }));
        return command;
    }

    private static Command Remove(Argument<string> lab, Option<string> server)
    {
        var name = new Argument<string>("NAME") { Description = "The mirror interface (ltb lab mirror list)." };
        var command = new Command("remove", "Remove a mirror interface; waits until it is gone.") { lab, name, server };
        command.Aliases.Add("rm");
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(server));
            await FollowAsync(client, await client.RemoveMirrorAsync(parse.GetValue(lab)!, parse.GetValue(name)!, ct), ct);
            return 0;
        }));
        return command;
    }

    private static Command List(Argument<string> lab, Option<string> server)
    {
        var output = new OutputOptions();
        var command = output.AddTo(new Command("list", "The lab's mirror interfaces and the link ends they mirror.") { lab, server });
        command.Aliases.Add("ls");
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var printer = Printer.ForConsole(output.Read(parse));
            using var client = ServerConnection.Connect(parse.GetValue(server));
            var mirrors = await client.ListMirrorsAsync(parse.GetValue(lab)!, ct);
            if (printer.Settings.IsDocument)
            {
                printer.Document(mirrors.Select(m => new { name = m.Name, node = m.Node, @interface = m.Interface }));
                return 0;
            }
            printer.Table(LabViews.Mirrors.For(mirrors, printer.Wide));
            return 0;
        }));
        return command;
    }

    /// <summary>Waits for the mirror task; its last log line (or its error) is what happened.</summary>
    private static async Task FollowAsync(LtbApiClient client, LabTaskAccepted accepted, CancellationToken ct)
    {
        var task = await new TaskFollower(client, accepted.Lab.Id).FollowAsync(accepted.Task, ct);
        if (task.State != "succeeded")
        {
            throw new LtbApiException(0, task.Error ?? $"lab '{accepted.Lab.Name}': the mirror task ended {task.State}");
        }
    }
}
