using System.CommandLine;
using System.Text;
using Ltb.Cli.Api;
using Ltb.Client;
using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb extcap`: Wireshark's extcap interface (https://www.wireshark.org/docs/wsdg_html_chunked/ChCaptureExtcap.html), so
/// that Wireshark lists the interfaces of the labs the stored `ltb login` may see and captures one with a double click.
/// Wireshark runs the programs in its extcap folder with `--extcap-interfaces`, `--extcap-dlts`, `--extcap-config` and
/// `--capture --fifo PATH`; `ltb extcap install` puts a two-line script there that runs `ltb extcap "$@"` (and `ltb`
/// itself, linked there, takes those options too: Program.cs). The capture is the live capture endpoint's pcapng,
/// copied into Wireshark's fifo until Wireshark closes it or stops the program.
/// </summary>
internal static class ExtcapCommand
{
    private const string Prefix = "ltb";

    /// <summary>Options Wireshark passes: a leading one of these means `ltb` was started by Wireshark as an extcap.</summary>
    public static bool IsWiresharkCall(string[] args) => args.Length > 0 && (args[0].StartsWith("--extcap-", StringComparison.Ordinal) || args[0] == "--capture");

    public static Command Create(Option<string> server)
    {
        var interfaces = new Option<bool>("--extcap-interfaces") { Description = "List the labs' interfaces (Wireshark asks)." };
        var version = new Option<string?>("--extcap-version") { Description = "Wireshark's version." };
        var dlts = new Option<bool>("--extcap-dlts") { Description = "The link types of an interface." };
        var config = new Option<bool>("--extcap-config") { Description = "The options of an interface." };
        var iface = new Option<string?>("--extcap-interface") { Description = "The interface Wireshark means." };
        var capture = new Option<bool>("--capture") { Description = "Capture into --fifo." };
        var fifo = new Option<string?>("--fifo") { Description = "Where Wireshark reads the capture." };
        var filter = new Option<string?>("--extcap-capture-filter") { Description = "The capture filter Wireshark was given." };
        var seconds = new Option<int?>("--seconds") { Description = "Stop after this many seconds." };
        var command = new Command("extcap", "Wireshark's extcap interface to LTB's live captures (install it with `ltb extcap install`).")
        {
            interfaces, version, dlts, config, iface, capture, fifo, filter, seconds, server,
        };
        // Wireshark may pass options of newer versions (--extcap-reload-option, --debug...): they are not errors.
        command.TreatUnmatchedTokensAsErrors = false;
        command.Subcommands.Add(Install());
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            if (parse.GetValue(interfaces))
            {
                using var client = ServerConnection.Connect(parse.GetValue(server));
                Console.Write(await InterfacesAsync(client, ct));
                return 0;
            }
            if (parse.GetValue(dlts))
            {
                Console.WriteLine($"dlt {{number=1}}{{name=EN10MB}}{{display=Ethernet}}");
                return 0;
            }
            if (parse.GetValue(config))
            {
                Console.WriteLine("arg {number=0}{call=--seconds}{display=Stop after (seconds)}{type=integer}{range=1,3600}{default=3600}{tooltip=The capture ends after this long}");
                return 0;
            }
            if (parse.GetValue(capture) && parse.GetValue(iface) is { } name && parse.GetValue(fifo) is { } path)
            {
                using var client = ServerConnection.Connect(parse.GetValue(server));
                await CaptureAsync(client, name, path, parse.GetValue(filter), parse.GetValue(seconds), ct);
                return 0;
            }
            throw new LtbApiException(0, "give --extcap-interfaces, --extcap-dlts, --extcap-config or --capture with --extcap-interface and --fifo (Wireshark does)");
        }));
        return command;
    }

    /// <summary>The extcap lines: this program, then one interface per node interface and mirror of every running lab.</summary>
    internal static async Task<string> InterfacesAsync(LtbApiClient client, CancellationToken ct)
    {
        var text = new StringBuilder();
        text.Append("extcap {version=1.0}{help=https://github.com/ltb/ltb/blob/main/docs/api.md}{display=LTB labs}\n");
        var labs = await client.ListLabsAsync(ct);
        foreach (var summary in labs.Items.Where(l => l.State == "running").OrderBy(l => l.Name, StringComparer.Ordinal))
        {
            var lab = await client.GetLabAsync(summary.Id.ToString(), ct);
            foreach (var node in lab.Nodes)
            {
                foreach (var i in node.Interfaces)
                {
                    text.Append($"interface {{value={Prefix}/{lab.Id}/{node.Name}/{i.Name}}}{{display=LTB {Clean(lab.Name)} {Clean(node.Name)}:{Clean(i.Name)}}}\n");
                }
            }
            foreach (var m in lab.Mirrors)
            {
                text.Append($"interface {{value={Prefix}/{lab.Id}/~mirror/{m.Name}}}{{display=LTB {Clean(lab.Name)} mirror {Clean(m.Name)} ({Clean(m.Node)}:{Clean(m.Interface)})}}\n");
            }
        }
        return text.ToString();
    }

    /// <summary>Names go into Wireshark's {key=value} syntax: braces could end a field early.</summary>
    private static string Clean(string s) => s.Replace('{', '(').Replace('}', ')');

    private static async Task CaptureAsync(LtbApiClient client, string name, string fifo, string? filter, int? seconds, CancellationToken ct)
    {
        if (name.Split('/') is not [Prefix, var lab, var node, var iface])
        {
            throw new LtbApiException(0, $"'{name}' is not an LTB interface (ltb/LAB-ID/NODE/IFACE)");
        }
        var query = node == "~mirror"
            ? new CaptureQuery([], string.IsNullOrWhiteSpace(filter) ? null : filter, Seconds: seconds, Mirrors: [iface])
            : new CaptureQuery([$"{node}:{iface}"], string.IsNullOrWhiteSpace(filter) ? null : filter, Seconds: seconds);
        using var response = await client.OpenCaptureAsync(lab, query, ct);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        await using var output = new FileStream(fifo, FileMode.Open, FileAccess.Write);
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await body.ReadAsync(buffer, ct)) > 0)
            {
                await output.WriteAsync(buffer.AsMemory(0, read), ct);
                await output.FlushAsync(ct);
            }
        }
        catch (IOException) when (!ct.IsCancellationRequested)
        {
            // Wireshark closed the fifo (the user stopped the capture): leaving the stream ends it on the server.
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Wireshark stopped this program.
        }
    }

    /// <summary>How to start this ltb again: its executable, or dotnet and its assembly when it runs as `dotnet ltb.dll` (./ltb).</summary>
    private static IEnumerable<string> Self()
    {
        var process = Environment.ProcessPath ?? "ltb";
        return Path.GetFileNameWithoutExtension(process) == "dotnet" ? [process, typeof(ExtcapCommand).Assembly.Location] : [process];
    }

    private static string Quote(string word) => $"'{word.Replace("'", "'\\''", StringComparison.Ordinal)}'";

    /// <summary>`ltb extcap install [DIR]`: a script in Wireshark's personal extcap folder that runs this ltb.</summary>
    private static Command Install()
    {
        var folder = new Argument<string?>("DIR")
        {
            Arity = ArgumentArity.ZeroOrOne,
            Description = "Wireshark's extcap folder [default: ~/.config/wireshark/extcap, Wireshark's personal one]",
        };
        var command = new Command("install", "Make Wireshark list LTB's interfaces: writes DIR/ltb-extcap, which runs this ltb.") { folder };
        command.SetAction(parse =>
        {
            var dir = parse.GetValue(folder) ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "wireshark", "extcap");
            Directory.CreateDirectory(dir);
            var script = Path.Combine(dir, "ltb-extcap");
            File.WriteAllText(script, $"#!/bin/sh\nexec {string.Join(' ', Self().Select(Quote))} extcap \"$@\"\n");
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            Console.WriteLine($"installed {script}: restart Wireshark (or Capture > Refresh Interfaces) to see your labs' interfaces");
            return 0;
        });
        return command;
    }
}
