using System.CommandLine;
using Ltb.Cli.Api;
using Ltb.Cli.Output;
using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>`ltb catalog`: the server's device catalog (node types) and the lab hosts that can run each type.</summary>
internal static class CatalogCommands
{
    private static readonly TableView<NodeTypeDto> Types = new(
        new("TYPE", t => t.Name),
        new("RUNTIME", t => t.Runtime),
        new("VENDOR", t => t.Vendor),
        new("OS", t => t.Os),
        new("IMAGE", t => t.Image ?? ""),
        new("HOSTS", t => Hosts(t)),
        Column<NodeTypeDto>.WideOnly("ORIGIN", t => t.Origin + (t.Retired ? ", retired" : "")),
        Column<NodeTypeDto>.WideOnly("DESCRIPTION", t => t.Description));

    public static Command Create()
    {
        var server = new Option<string>("--server") { Description = "The LTB server's URL [env LTB_SERVER; default: the server of the last login]" };
        var output = new OutputOptions();
        var list = output.AddTo(new Command("list", "List the node types (device catalog) and which lab hosts can run each (a host without the image marked 'no image').")
        {
            server,
        });
        list.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var printer = Printer.ForConsole(output.Read(parse));
            using var client = ServerConnection.Connect(parse.GetValue(server));
            var types = await client.ListNodeTypesAsync(ct);
            if (printer.Settings.IsDocument)
            {
                printer.Document(types.Items);
                return 0;
            }
            printer.Table(Types.For(types.Items, printer.Wide));
            return 0;
        }));
        return new Command("catalog", "The server's device catalog: node types, what they are and where they can run.") { list };
    }

    /// <summary>"local, lab2 (no image), lab3 (disabled)": every host whose agent runs the type.</summary>
    private static string Hosts(NodeTypeDto t) => t.Hosts.Count == 0 ? "none" : string.Join(", ", t.Hosts.Select(h =>
        h.Name + (h.State != "ready" ? $" ({h.State})" : h.ImagePresent == false ? " (no image)" : "")));
}
