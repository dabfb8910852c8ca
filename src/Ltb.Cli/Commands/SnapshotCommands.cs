using System.CommandLine;
using System.Globalization;
using Ltb.Cli.Api;
using Ltb.Cli.Output;
using Ltb.Client;
using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb lab snapshot create LAB NAME [--memory]`, `list [LAB]`, `restore SNAPSHOT [--name N] [--reset]`, `delete SNAPSHOT`: snapshots
/// of labs (docs/api.md "Snapshots"). SNAPSHOT is an id or LAB/NAME. Creating and restoring run as tasks and wait for them.
/// </summary>
internal static class SnapshotCommands
{
    private static readonly TableView<SnapshotDto> Table = new(
        new("LAB", s => s.LabName),
        new("SNAPSHOT", s => s.Name),
        new("STATE", s => s.State),
        new("SIZE", s => Size(s.SizeBytes)),
        new("NODES", s => s.Nodes.ToString(CultureInfo.InvariantCulture)),
        new("CREATED", s => s.CreatedAt.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)),
        Column<SnapshotDto>.WideOnly("OWNER", s => s.Owner),
        Column<SnapshotDto>.WideOnly("ID", s => s.Id.ToString()));

    public static Command Create(Func<Argument<string>> labArgument, Option<string> server)
    {
        var snapshot = new Command("snapshot", "Snapshots of labs: save a running lab's state, list, restore, delete.");
        snapshot.Subcommands.Add(Take(labArgument(), server));
        snapshot.Subcommands.Add(List(server));
        snapshot.Subcommands.Add(Restore(server));
        snapshot.Subcommands.Add(Delete(server));
        return snapshot;
    }

    private static Command Take(Argument<string> lab, Option<string> server)
    {
        var name = new Argument<string>("NAME") { Description = "The snapshot's name (unique per lab)." };
        var memory = new Option<bool>("--memory")
        {
            Description = "Save each VM node's RAM state too: restored, the VM runs on where it was instead of booting (not for node types that power the guest off for a snapshot; containers ignore it).",
        };
        var command = new Command("create", "Take a snapshot of a running lab (each node's config saved first); waits until it is stored.") { lab, name, memory, server };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(server));
            var accepted = await client.CreateSnapshotAsync(parse.GetValue(lab)!, new CreateSnapshotRequest(parse.GetValue(name)!, parse.GetValue(memory)), ct);
            var task = await new TaskFollower(client, accepted.Task.LabId).FollowAsync(accepted.Task, ct);
            if (task.State != "succeeded")
            {
                throw new LtbApiException(0, task.Error ?? $"snapshot '{accepted.Snapshot.Name}': the task ended {task.State}");
            }
            var done = await client.GetSnapshotAsync(accepted.Snapshot.Id, ct);
            Console.WriteLine($"snapshot '{done.LabName}/{done.Name}' stored ({Size(done.SizeBytes)}, id {done.Id})");
            return 0;
        }));
        return command;
    }

    private static Command List(Option<string> server)
    {
        var lab = new Argument<string?>("LAB") { Description = "Only this lab's snapshots [default: every snapshot you may read].", Arity = ArgumentArity.ZeroOrOne };
        var output = new OutputOptions();
        var command = output.AddTo(new Command("list", "Snapshots with their size and state.") { lab, server });
        command.Aliases.Add("ls");
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var printer = Printer.ForConsole(output.Read(parse));
            using var client = ServerConnection.Connect(parse.GetValue(server));
            var page = parse.GetValue(lab) is { } l ? await client.ListLabSnapshotsAsync(l, ct) : await client.ListSnapshotsAsync(ct);
            if (printer.Settings.IsDocument)
            {
                printer.Document(page.Items);
                return 0;
            }
            printer.Table(Table.For(page.Items, printer.Wide));
            return 0;
        }));
        return command;
    }

    private static Command Restore(Option<string> server)
    {
        var snapshot = SnapshotArgument();
        var name = new Option<string?>("--name") { Description = "The new lab's name [default: the snapshot's topology's name]" };
        var reset = new Option<bool>("--reset") { Description = "Replace your running lab of that name by the snapshot (it is removed, then deployed from the snapshot)." };
        var host = new Option<string?>("--host") { Description = "The lab host to deploy on [default: placement chooses]" };
        var command = new Command("restore", "Deploy a lab from a snapshot: nodes come back with their saved state; waits until it runs.")
        {
            snapshot, name, reset, host, server,
        };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(server));
            var found = await FindAsync(client, parse.GetValue(snapshot)!, ct);
            var accepted = await client.RestoreSnapshotAsync(found.Id, parse.GetValue(name), parse.GetValue(reset), ct, parse.GetValue(host));
            Console.WriteLine($"lab '{accepted.Lab.Name}': restoring snapshot '{found.LabName}/{found.Name}', task {accepted.Task.Id} queued");
            await LabCommands.FollowDeploymentAsync(client, accepted, ct);
            return 0;
        }));
        return command;
    }

    private static Command Delete(Option<string> server)
    {
        var snapshot = SnapshotArgument();
        var command = new Command("delete", "Delete a snapshot (frees its space).") { snapshot, server };
        command.Aliases.Add("rm");
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(server));
            var found = await FindAsync(client, parse.GetValue(snapshot)!, ct);
            await client.DeleteSnapshotAsync(found.Id, ct);
            Console.WriteLine($"snapshot '{found.LabName}/{found.Name}' deleted");
            return 0;
        }));
        return command;
    }

    /// <summary>`ltb lab export LAB [--snapshot NAME] -o FILE`: a lab with one of its snapshots (default: its newest) as one archive.</summary>
    public static Command Export(Argument<string> lab, Option<string> server)
    {
        var name = new Option<string?>("--snapshot") { Description = "The snapshot to export [default: the lab's newest ready snapshot]" };
        var file = new Option<string>("--output", "-o") { Description = "The archive file to write (docs/snapshot-format.md)", Required = true };
        var command = new Command("export", "Write a lab with its snapshot as one archive file, to import into another LTB (ltb lab import).") { lab, name, file, server };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(server));
            var labName = parse.GetValue(lab)!;
            var snapshot = parse.GetValue(name) is { } n ? await FindAsync(client, $"{labName}/{n}", ct)
                : (await client.ListSnapshotsAsync(ct)).Items.Where(s => s.LabName == labName && s.State == "ready").MaxBy(s => s.CreatedAt)
                  ?? throw new LtbApiException(0, $"lab '{labName}' has no ready snapshot to export (ltb lab snapshot create {labName} NAME)");
            var path = parse.GetValue(file)!;
            var partial = path + ".part";
            try
            {
                await using (var output = new FileStream(partial, FileMode.Create, FileAccess.Write))
                {
                    await client.ExportSnapshotAsync(snapshot.Id, output, ct);
                }
                File.Move(partial, path, overwrite: true);
            }
            finally
            {
                File.Delete(partial); // an interrupted download leaves no half archive
            }
            Console.WriteLine($"snapshot '{snapshot.LabName}/{snapshot.Name}' exported to {path} ({Size(new FileInfo(path).Length)})");
            return 0;
        }));
        return command;
    }

    /// <summary>`ltb lab import FILE [--name NAME]`: an archive becomes a snapshot of yours, restorable with `ltb lab snapshot restore`.</summary>
    public static Command Import(Option<string> server)
    {
        var file = new Argument<string>("FILE") { Description = "An archive written by ltb lab export." };
        var name = new Option<string?>("--name") { Description = "The imported snapshot's name [default: the archived snapshot's]" };
        var command = new Command("import", "Import a lab's snapshot archive (ltb lab export) as a snapshot of yours; restore it with ltb lab snapshot restore.")
        {
            file, name, server,
        };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var path = parse.GetValue(file)!;
            if (!File.Exists(path))
            {
                throw new LtbApiException(0, $"'{path}' is not a file: give the archive ltb lab export wrote");
            }
            using var client = ServerConnection.Connect(parse.GetValue(server));
            await using var archive = File.OpenRead(path);
            var imported = await client.ImportSnapshotAsync(archive, parse.GetValue(name), ct);
            Console.WriteLine($"snapshot '{imported.LabName}/{imported.Name}' imported ({Size(imported.SizeBytes)}, id {imported.Id}); "
                + $"restore it with: ltb lab snapshot restore {imported.Id} --name NAME");
            return 0;
        }));
        return command;
    }

    private static Argument<string> SnapshotArgument() => new("SNAPSHOT") { Description = "The snapshot's id, or LAB/NAME (ltb lab snapshot list)." };

    /// <summary>An id, or LAB/NAME among the snapshots the caller may read.</summary>
    private static async Task<SnapshotDto> FindAsync(LtbApiClient client, string text, CancellationToken ct)
    {
        if (Guid.TryParse(text, out var id))
        {
            return await client.GetSnapshotAsync(id, ct);
        }
        if (text.Split('/') is not [{ Length: > 0 } lab, { Length: > 0 } name])
        {
            throw new LtbApiException(0, $"'{text}' is neither a snapshot id nor LAB/NAME");
        }
        var all = await client.ListSnapshotsAsync(ct);
        return all.Items.Where(s => s.LabName == lab && s.Name == name).ToList() switch
        {
            [var one] => one,
            [] => throw new LtbApiException(0, $"no snapshot '{name}' of a lab '{lab}' (ltb lab snapshot list)"),
            _ => throw new LtbApiException(0, $"several snapshots are '{lab}/{name}' (labs of other users): give its id (ltb lab snapshot list -o wide)"),
        };
    }

    private static string Size(long bytes) => bytes switch
    {
        < 1 << 20 => $"{Math.Max(1, bytes >> 10)} KiB",
        < 1 << 30 => $"{bytes / (1024.0 * 1024):0.0} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.00} GiB",
    };
}
