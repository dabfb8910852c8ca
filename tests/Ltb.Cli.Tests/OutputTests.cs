using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Ltb.Cli.Output;
using Spectre.Console;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ltb.Cli.Tests;

/// <summary>
/// The output layer every listing command prints through (src/Ltb.Cli/Output): tables at 80 columns and when stdout is
/// not a terminal keep one line per row with aligned columns, wide adds columns, --no-headers drops the header line,
/// JSON and YAML read back to the same document.
/// </summary>
public sealed class OutputTests
{
    private sealed record Node(string Name, string Kind, string Image, string State, string Ipv4, string[] Interfaces, string Error);

    private static readonly TableView<Node> Nodes = new(
        new("NODE", n => n.Name),
        new("KIND", n => n.Kind),
        new("IMAGE", n => n.Image),
        new("STATE", n => n.State),
        new("IPV4", n => n.Ipv4),
        new("INTERFACES", n => string.Join("\n", n.Interfaces)),
        Column<Node>.WideOnly("ERROR", n => n.Error));

    /// <summary>Wide enough that a Spectre table at 80 columns used to wrap it into one-word lines.</summary>
    private static readonly Node[] Sample =
    [
        new("router1", "linux", "quay.io/frrouting/frr:10.5.1", "running", "172.20.20.2",
            ["eth1 -> router2:eth1", "eth2 -> router3:eth1", "eth3 -> PC1:eth1"], ""),
        new("PC1", "linux", "wbitt/network-multitool:3.22.2", "running", "172.20.20.5", ["eth1 -> router1:eth3"], ""),
        new("PC2", "linux", "wbitt/network-multitool:3.22.2", "failed", "", [], "image wbitt/network-multitool:3.22.2 not found on host h1"),
    ];

    private static string Print(TableData table, OutputFormat format = OutputFormat.Table, bool noHeaders = false, int? terminalWidth = null)
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        IAnsiConsole? terminal = null;
        if (terminalWidth is { } width)
        {
            terminal = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(text),
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
            });
            terminal.Profile.Width = width;
        }
        new Printer(text, new OutputSettings(format, noHeaders), terminal).Table(table);
        return text.ToString();
    }

    private static string[] Lines(string text) => text.TrimEnd('\n').Split('\n');

    /// <summary>Each header starts where its cells start, in every row (cells here have no spaces but the last).</summary>
    private static void AssertAligned(string[] lines, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var starts = headers.Select(h => lines[0].IndexOf(h, StringComparison.Ordinal)).ToList();
        Assert.Equal(starts.Order(), starts);
        foreach (var (line, row) in lines.Skip(1).Zip(rows))
        {
            for (var i = 0; i < row.Count; i++)
            {
                var expected = row[i].Length == 0 ? "-" : row[i].Replace("\n", ", ", StringComparison.Ordinal);
                Assert.True(line[starts[i]..].StartsWith(expected, StringComparison.Ordinal), $"column {headers[i]} of '{line}' is not at {starts[i]}");
                Assert.True(starts[i] == 0 || line[starts[i] - 1] == ' ', line);
            }
        }
    }

    [Fact]
    public void Not_a_terminal_gives_one_line_per_row_in_aligned_columns()
    {
        var table = Nodes.For(Sample, wide: false);
        var lines = Lines(Print(table));
        Assert.Equal(Sample.Length + 1, lines.Length);
        Assert.Matches(@"^NODE {3,}KIND {3,}IMAGE {3,}STATE {3,}IPV4 {3,}INTERFACES$", lines[0]);
        Assert.All(lines, l => Assert.False(l.EndsWith(' '), $"trailing space: '{l}'"));
        AssertAligned(lines, table.Headers, table.Rows);
        // Several values of a cell stay on the row's line; an empty cell is "-" so that columns still count right.
        Assert.EndsWith("eth1 -> router2:eth1, eth2 -> router3:eth1, eth3 -> PC1:eth1", lines[1]);
        Assert.Equal(["PC2", "linux", "wbitt/network-multitool:3.22.2", "failed", "-", "-"], lines[3].Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Wide_adds_the_columns_the_narrow_table_leaves_out()
    {
        var wide = Nodes.For(Sample, wide: true);
        Assert.Equal(["NODE", "KIND", "IMAGE", "STATE", "IPV4", "INTERFACES", "ERROR"], wide.Headers);
        var lines = Lines(Print(wide, OutputFormat.Wide));
        Assert.Equal(Sample.Length + 1, lines.Length);
        AssertAligned(lines, wide.Headers, wide.Rows);
        Assert.EndsWith("image wbitt/network-multitool:3.22.2 not found on host h1", lines[3]);
    }

    [Fact]
    public void No_headers_drops_the_header_line_only()
    {
        var table = Nodes.For(Sample, wide: false);
        var lines = Lines(Print(table, noHeaders: true));
        Assert.Equal(Sample.Length, lines.Length);
        Assert.StartsWith("router1 ", lines[0]);
        // The same rows, aligned on their own widths (a header wider than its cells no longer counts).
        static string Words(string line) => string.Join(' ', line.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(Lines(Print(table)).Skip(1).Select(Words), lines.Select(Words));
        var narrowCells = Lines(Print(new TableData(["NODES", "HOST"], [["6", "local"]]), noHeaders: true));
        Assert.Equal(["6   local"], narrowCells);
        var framed = Print(new TableData(["A", "B"], [["x", "y"]]), noHeaders: true, terminalWidth: 80);
        Assert.DoesNotContain("A", framed);
        Assert.Contains("x", framed);
    }

    [Fact]
    public void An_80_column_terminal_gets_plain_columns_for_a_table_wider_than_it_and_a_framed_table_otherwise()
    {
        var wide = Nodes.For(Sample, wide: false);
        Assert.Equal(Print(wide), Print(wide, terminalWidth: 80));

        var narrow = new TableData(["A", "B", "STATE"], [["router1:eth1", "router2:eth1", "up"], ["router1:eth2", "", "down"]]);
        var lines = Lines(Print(narrow, terminalWidth: 80));
        // Top border, header, separator, one line per row, bottom border: no cell wrapped.
        Assert.Equal(narrow.Rows.Count + 4, lines.Length);
        Assert.All(lines, l => Assert.True(l.Length <= 80, l));
        Assert.Matches(@"^│ router1:eth1 │ router2:eth1 │ up +│$", lines[3]);
    }

    [Fact]
    public void A_table_exactly_as_wide_as_the_terminal_is_framed_and_one_column_more_is_plain()
    {
        var row = new[] { new string('a', 30), new string('b', 30) };
        var table = new TableData(["X", "Y"], [row]);
        // Two columns: three borders and a space either side of each cell.
        var natural = 60 + 3 + 4;
        Assert.Contains("│", Print(table, terminalWidth: natural));
        Assert.DoesNotContain("│", Print(table, terminalWidth: natural - 1));
    }

    [Fact]
    public void Control_characters_in_a_cell_do_not_break_the_line()
    {
        var lines = Lines(Print(new TableData(["NAME", "ERROR"], [["lab1", "first\r\nsecond\tthird"]])));
        Assert.Equal(["NAME   ERROR", "lab1   first, second third"], lines);
    }

    private static readonly object SampleDocument = new
    {
        name = "lab1",
        state = "running",
        count = 3,
        ok = true,
        missing = (string?)null,
        tricky = new[] { "02:42:ac:11:00:02", "true", "no", "", "123", "1.5", "null", "~", "a: b", "- x", "# c", "line1\nline2", "192.168.1.1", "<none>:<none>" },
        nodes = new[] { new { name = "PC1", interfaces = new[] { new { name = "eth1", mac = (string?)"aa:c1:ab:00:00:01", peer = (string?)null } } } },
        empty = Array.Empty<string>(),
    };

    private static string Printed(OutputFormat format)
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        new Printer(text, new OutputSettings(format, false), null).Document(SampleDocument);
        return text.ToString();
    }

    [Fact]
    public void Json_is_the_document_with_camel_case_keys_in_order()
    {
        var json = JsonNode.Parse(Printed(OutputFormat.Json))!.AsObject();
        Assert.Equal(["name", "state", "count", "ok", "missing", "tricky", "nodes", "empty"], json.Select(p => p.Key));
        Assert.Null(json["missing"]);
        Assert.Equal("<none>:<none>", json["tricky"]![13]!.GetValue<string>());
        Assert.Contains("\"<none>:<none>\"", Printed(OutputFormat.Json));
    }

    [Fact]
    public void Yaml_reads_back_as_the_same_document_as_the_json()
    {
        var yaml = Printed(OutputFormat.Yaml);
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var fromYaml = FromYaml(stream.Documents.Single().RootNode);
        Assert.Equal(JsonNode.Parse(Printed(OutputFormat.Json))!.ToJsonString(), fromYaml!.ToJsonString());
        Assert.DoesNotContain("...", yaml);
    }

    /// <summary>YAML to JSON with the core schema's resolution of plain scalars (what a YAML reader in a script does).</summary>
    private static JsonNode? FromYaml(YamlNode node) => node switch
    {
        YamlMappingNode m => new JsonObject(m.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, FromYaml(kv.Value)))),
        YamlSequenceNode s => new JsonArray(s.Children.Select(FromYaml).ToArray()),
        YamlScalarNode { Style: ScalarStyle.Plain } p when p.Value is "null" or "~" or "" => null,
        YamlScalarNode { Style: ScalarStyle.Plain } p when p.Value is "true" or "false" => JsonValue.Create(p.Value == "true"),
        YamlScalarNode { Style: ScalarStyle.Plain } p when Regex.IsMatch(p.Value!, "^-?[0-9]+$") => JsonValue.Create(long.Parse(p.Value!, CultureInfo.InvariantCulture)),
        YamlScalarNode { Style: ScalarStyle.Plain } p when Regex.IsMatch(p.Value!, @"^[-+]?(\.[0-9]|[0-9])") || Regex.IsMatch(p.Value!, "^(yes|no|on|off)$", RegexOptions.IgnoreCase) =>
            throw new InvalidOperationException($"'{p.Value}' is plain but a YAML reader would not take it for text"),
        YamlScalarNode p => JsonValue.Create(p.Value),
        _ => throw new InvalidOperationException(node.GetType().Name),
    };

    [Theory]
    [InlineData("-o wide --no-headers", "Wide", true)]
    [InlineData("--output yaml", "Yaml", false)]
    [InlineData("--format json", "Json", false)]
    [InlineData("--format json -o json", "Json", false)]
    [InlineData("", "Table", false)]
    public void Options_read_as_given(string args, string expected, bool noHeaders)
    {
        var format = Enum.Parse<OutputFormat>(expected);
        var options = new OutputOptions();
        var command = options.AddTo(new Command("list"));
        var parse = command.Parse(args);
        Assert.Empty(parse.Errors);
        Assert.Equal(new OutputSettings(format, noHeaders), options.Read(parse));
    }

    [Theory]
    [InlineData("lab list -o json --format yaml", "-o json and --format yaml disagree")]
    [InlineData("lab inspect x -o xml", "xml")]
    [InlineData("template list --format csv", "csv")]
    public void Wrong_or_conflicting_formats_are_parse_errors(string args, string message)
    {
        var parse = LtbCommandLine.Build().Parse(args);
        Assert.Contains(parse.Errors, e => e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("lab list")]
    [InlineData("lab inspect x")]
    [InlineData("template list")]
    [InlineData("host info")]
    public void Every_listing_command_takes_the_output_options(string args)
    {
        var parse = LtbCommandLine.Build().Parse(args + " -o yaml --no-headers --format yaml");
        Assert.Empty(parse.Errors);
    }
}
