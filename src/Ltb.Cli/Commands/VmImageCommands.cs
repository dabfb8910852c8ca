using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using Ltb.Cli.Api;
using Ltb.Cli.Output;
using Ltb.Client;
using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb image vm ...`: the controller's VM image library. `add` uploads a qcow2 or raw disk (its SHA-256 computed here
/// first, so the server can prove it arrived whole) or, with --path, has the controller copy a file of its own host;
/// `list` shows the library; `delete` removes an image. Adding and deleting are for admins.
/// </summary>
internal static class VmImageCommands
{
    private static readonly Option<string> Server = new("--server")
    {
        Description = "The LTB server's URL [env LTB_SERVER; default: the server of the last login]",
    };

    public static Command Create()
    {
        var vm = new Command("vm", "The controller's VM image library (disks for VM nodes; agents fetch them from the controller).")
        {
            Add(), List(), Delete(),
        };
        return new Command("image", "Images on the LTB server.") { vm };
    }

    private static Command Add()
    {
        var file = new Argument<FileInfo?>("FILE") { Description = "The disk to upload (qcow2 or raw).", Arity = ArgumentArity.ZeroOrOne };
        var path = new Option<string?>("--path") { Description = "Instead of uploading: an absolute path to the disk on the controller's host." };
        var name = new Option<string>("--name") { Description = "The image's name as topologies write it (e.g. debian).", Required = true };
        var version = new Option<string>("--version") { Description = "The image's version (topologies write NAME:VERSION).", Required = true };
        var type = new Option<string>("--type") { Description = "The VM node type it is for (e.g. generic_vm).", Required = true };
        var format = new Option<string?>("--format") { Description = "qcow2 or raw [default: read from the disk]" };
        format.AcceptOnlyFromAmong("qcow2", "raw");
        var command = new Command("add", "Add a VM disk image to the controller's library (admin).") { file, path, name, version, type, format, Server };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var (disk, hostPath) = (parse.GetValue(file), parse.GetValue(path));
            if ((disk is null) == (hostPath is null))
            {
                throw new LtbApiException(0, "give either FILE (uploaded) or --path (a file on the controller's host)");
            }
            // An upload takes as long as the disk needs: no request timeout (Ctrl-C stops it).
            using var client = ServerConnection.Connect(parse.GetValue(Server), Timeout.InfiniteTimeSpan);
            VmImageDto added;
            if (hostPath is not null)
            {
                added = await client.ImportVmImageAsync(new ImportVmImageRequest(parse.GetValue(name)!, parse.GetValue(version)!, parse.GetValue(type)!, hostPath,
                    parse.GetValue(format)), ct);
            }
            else
            {
                if (!disk!.Exists)
                {
                    throw new LtbApiException(0, $"{disk}: no such file");
                }
                Console.Error.WriteLine($"computing the SHA-256 of {disk.Name} ({disk.Length / (1024 * 1024)} MiB)...");
                string sha256;
                await using (var read = disk.OpenRead())
                {
                    sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(read, ct));
                }
                await using var upload = disk.OpenRead();
                added = await client.UploadVmImageAsync(parse.GetValue(name)!, parse.GetValue(version)!, parse.GetValue(type)!, parse.GetValue(format), sha256, upload, ct);
            }
            Console.WriteLine($"VM image {added.Reference} added ({added.Format}, {added.SizeBytes} bytes, sha256 {added.Sha256}; id {added.Id})");
            return 0;
        }));
        return command;
    }

    private static readonly TableView<VmImageDto> Images = new(
        new("IMAGE", x => x.Reference),
        new("TYPE", x => x.NodeType),
        new("FORMAT", x => x.Format),
        new("SIZE", x => (x.SizeBytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB"),
        Column<VmImageDto>.WideOnly("SHA256", x => x.Sha256),
        Column<VmImageDto>.WideOnly("SOURCE", x => x.Source),
        Column<VmImageDto>.WideOnly("ADDED", x => x.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)),
        Column<VmImageDto>.WideOnly("ID", x => x.Id.ToString()));

    private static Command List()
    {
        var output = new OutputOptions();
        var type = new Option<string?>("--type") { Description = "Only images for this node type." };
        var command = output.AddTo(new Command("list", "List the controller's VM images.") { type, Server });
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var printer = Printer.ForConsole(output.Read(parse));
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            var images = await client.ListVmImagesAsync(parse.GetValue(type), ct);
            if (printer.Settings.IsDocument)
            {
                printer.Document(images.Items);
                return 0;
            }
            printer.Table(Images.For(images.Items, printer.Wide));
            return 0;
        }));
        return command;
    }

    private static Command Delete()
    {
        var image = new Argument<string>("IMAGE") { Description = "NAME:VERSION or the image's id." };
        var command = new Command("delete", "Remove a VM image from the controller's library (admin).") { image, Server };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            var wanted = parse.GetValue(image)!;
            var found = Guid.TryParse(wanted, out var id) ? await client.GetVmImageAsync(id, ct)
                : (await client.ListVmImagesAsync(null, ct)).Items.FirstOrDefault(i => i.Reference == wanted || i.Reference == wanted + ":latest")
                  ?? throw new LtbApiException(0, $"no VM image '{wanted}' in the controller's library (ltb image vm list)");
            await client.DeleteVmImageAsync(found.Id, ct);
            Console.WriteLine($"VM image {found.Reference} deleted");
            return 0;
        }));
        return command;
    }
}
