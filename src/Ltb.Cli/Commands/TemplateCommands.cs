using System.CommandLine;
using System.Globalization;
using Ltb.Cli.Api;
using Ltb.Client;
using Ltb.Cli.Output;
using Ltb.Contracts;
using Ltb.Topology;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb template ...`: the server's template store. `push` uploads a topology with the files it references (a new
/// template, or a new version of one's own template of that name), `list` shows the templates one may see, `show`
/// prints a version's YAML exactly as it was uploaded. `ltb lab deploy --template NAME` deploys one.
/// </summary>
internal static class TemplateCommands
{
    private static readonly Option<string> Server = new("--server")
    {
        Description = "The LTB server's URL [env LTB_SERVER; default: the server of the last login]",
    };

    public static Command Create()
    {
        var template = new Command("template", "Store lab templates on an LTB server and read them.");
        template.Subcommands.Add(Push());
        template.Subcommands.Add(List());
        template.Subcommands.Add(Show());
        return template;
    }

    private static Command Push()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "The topology file (containerlab or LTB)." };
        var name = new Option<string?>("--name") { Description = "The template's name [default: the topology's name]" };
        var description = new Option<string?>("--description") { Description = "What the lab is for." };
        var tags = new Option<string[]>("--tag") { Description = "A tag (repeat for several).", AllowMultipleArgumentsPerToken = false };
        var visibility = new Option<string?>("--visibility") { Description = "Who sees it: private (default), group (with --group) or everyone." };
        visibility.AcceptOnlyFromAmong("private", "group", "everyone");
        var group = new Option<string?>("--group") { Description = "The group (name or id) that sees it with --visibility group." };
        var command = new Command("push", "Upload a template with the files it references; a template of yours with that name gets a new version.")
        {
            file, name, description, tags, visibility, group, Server,
        };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var topology = parse.GetValue(file)!;
            if (!topology.Exists)
            {
                throw new LtbApiException(0, $"{topology}: no such file");
            }
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            var templateName = parse.GetValue(name) ?? TopologyLoader.LoadFile(topology.FullName, new LoadOptions { Trusted = true }).Lab?.Name;
            var groupId = parse.GetValue(group) is { } g ? await GroupIdAsync(client, g, ct) : (Guid?)null;
            var me = await client.GetMeAsync(ct);
            var mine = templateName is null ? [] : (await client.ListTemplatesAsync(
                $"name={Uri.EscapeDataString(templateName)}&owner={me.Id}", ct)).Items;
            var existing = mine.Count > 0 ? mine[0] : null;
            using var content = Upload(topology);
            if (existing is null)
            {
                Field(content, "name", parse.GetValue(name));
                Field(content, "description", parse.GetValue(description));
                Field(content, "visibility", parse.GetValue(visibility));
                Field(content, "groupId", groupId?.ToString());
                foreach (var tag in parse.GetValue(tags) ?? [])
                {
                    Field(content, "tags", tag);
                }
                var created = await client.CreateTemplateAsync(content, ct);
                Report(created.Name, created.Current!, created.Id);
                return 0;
            }
            var version = await client.AddTemplateVersionAsync(existing.Id, content, ct);
            var given = parse.GetValue(tags) is { Length: > 0 } t ? t : null;
            if (parse.GetValue(description) is not null || given is not null || parse.GetValue(visibility) is not null || groupId is not null)
            {
                await client.UpdateTemplateAsync(existing.Id,
                    new UpdateTemplateRequest(Description: parse.GetValue(description), Tags: given, Visibility: parse.GetValue(visibility), GroupId: groupId), ct);
            }
            Report(existing.Name, version, existing.Id);
            return 0;
        }));
        return command;
    }

    private static void Report(string name, TemplateVersionDto version, Guid id)
    {
        foreach (var w in version.Warnings)
        {
            Console.Error.WriteLine($"{w.File}:{w.Line}:{w.Column}: {w.Severity}: {w.Message}");
        }
        Console.WriteLine($"template '{name}' version {version.Number} stored ({version.Files.Count} files; id {id})");
    }

    private static readonly TableView<TemplateDto> Templates = new(
        new("NAME", x => x.Name),
        new("OWNER", x => x.Owner),
        new("VISIBILITY", x => x.Visibility),
        new("VERSION", x => x.CurrentVersion.ToString(CultureInfo.InvariantCulture)),
        new("TAGS", x => string.Join(",", x.Tags)),
        Column<TemplateDto>.WideOnly("FORMAT", x => x.Format),
        Column<TemplateDto>.WideOnly("UPDATED", x => x.UpdatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)),
        Column<TemplateDto>.WideOnly("ID", x => x.Id.ToString()),
        // Free text last, where its length harms no other column.
        Column<TemplateDto>.WideOnly("DESCRIPTION", x => x.Description));

    private static Command List()
    {
        var output = new OutputOptions();
        var tag = new Option<string?>("--tag") { Description = "Only templates with this tag." };
        var command = output.AddTo(new Command("list", "List the templates you may see.") { tag, Server });
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var printer = Printer.ForConsole(output.Read(parse));
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            var filter = parse.GetValue(tag) is { } t ? $"tag={Uri.EscapeDataString(t)}" : "";
            var templates = await client.ListTemplatesAsync(filter, ct);
            if (printer.Settings.IsDocument)
            {
                printer.Document(templates.Items.Select(x => new
                {
                    x.Id, x.Name, x.Owner, x.Visibility, Version = x.CurrentVersion, x.Format, x.Tags, x.Description,
                }));
                return 0;
            }
            printer.Table(Templates.For(templates.Items, printer.Wide));
            return 0;
        }));
        return command;
    }

    private static Command Show()
    {
        var template = new Argument<string>("TEMPLATE") { Description = "The template's name or id." };
        var version = new Option<int?>("--version") { Description = "The version [default: the current one]" };
        var command = new Command("show", "Print a template version's YAML exactly as it was uploaded.") { template, version, Server };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(Server));
            var t = await ResolveAsync(client, parse.GetValue(template)!, ct);
            var bytes = await client.GetTemplateVersionSourceAsync(t.Id, parse.GetValue(version) ?? t.CurrentVersion, ct);
            await using var stdout = Console.OpenStandardOutput();
            await stdout.WriteAsync(bytes, ct);
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// A template by id, or by name among those the caller may see: one's own first; a name several others use is
    /// ambiguous (the message lists the owners, the id settles it).
    /// </summary>
    public static async Task<TemplateDto> ResolveAsync(LtbApiClient client, string nameOrId, CancellationToken ct)
    {
        if (Guid.TryParse(nameOrId, out var id))
        {
            return await client.GetTemplateAsync(id, ct);
        }
        var found = (await client.ListTemplatesAsync($"name={Uri.EscapeDataString(nameOrId)}", ct)).Items;
        if (found.Count == 1)
        {
            return found[0];
        }
        if (found.Count == 0)
        {
            throw new LtbApiException(0, $"no template named '{nameOrId}' that you may see (ltb template list)");
        }
        var me = await client.GetMeAsync(ct);
        return found.FirstOrDefault(t => t.OwnerId == me.Id)
            ?? throw new LtbApiException(0, $"several templates are named '{nameOrId}' (owners: {string.Join(", ", found.Select(t => t.Owner))}); give the id");
    }

    public static async Task<Guid> GroupIdAsync(LtbApiClient client, string nameOrId, CancellationToken ct)
    {
        if (Guid.TryParse(nameOrId, out var id))
        {
            return id;
        }
        var groups = await client.ListGroupsAsync(nameOrId, ct);
        return groups.Items.FirstOrDefault(g => g.Name == nameOrId)?.Id
            ?? throw new LtbApiException(0, $"no group named '{nameOrId}' among yours");
    }

    /// <summary>The topology and the files it references inside its folder, as `ltb lab deploy` uploads them.</summary>
    private static MultipartFormDataContent Upload(FileInfo topology)
    {
        var folder = topology.Directory!.FullName;
        var content = new MultipartFormDataContent();
        LabCommands.AddFile(content, "topology", topology.FullName, topology.Name);
        foreach (var relative in LabCommands.ReferencedFiles(topology.FullName, folder))
        {
            LabCommands.AddFile(content, "files", Path.Combine(folder, relative), relative);
        }
        return content;
    }

    private static void Field(MultipartFormDataContent content, string key, string? value)
    {
        if (value is not null)
        {
            content.Add(new StringContent(value), key);
        }
    }
}
