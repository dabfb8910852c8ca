using System.Text;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Ltb.Cli.Output;

/// <summary>
/// Where every listing command prints through. Tables: a Spectre table when stdout is a terminal and the table fits its
/// width, else plain space-aligned columns (as kubectl), one line per row whatever the width: a table squeezed into a
/// narrow terminal or an 80-column CI log used to wrap cells into one-word lines. Documents: JSON or YAML.
/// </summary>
internal sealed class Printer
{
    /// <summary>Spaces between plain columns (kubectl's tabwriter uses three too).</summary>
    private const int Gap = 3;

    /// <summary>The JSON of `--format json` with the keys the commands always printed (camelCase, indented); text such as
    /// "&lt;none&gt;" or "+" as written rather than \u-escaped (no HTML page embeds this output).</summary>
    private static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web)
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly TextWriter _out;
    private readonly IAnsiConsole? _terminal;
    private bool _printedTable;

    /// <param name="terminal">The console to draw tables on when stdout is a terminal; null: plain columns.</param>
    public Printer(TextWriter output, OutputSettings settings, IAnsiConsole? terminal)
    {
        _out = output;
        Settings = settings;
        _terminal = terminal;
    }

    public OutputSettings Settings { get; }

    /// <summary>For stdout: Spectre's console when stdout is a terminal, plain columns when piped or redirected.</summary>
    public static Printer ForConsole(OutputSettings settings) =>
        new(Console.Out, settings, Console.IsOutputRedirected ? null : AnsiConsole.Console);

    public bool Wide => Settings.Format == OutputFormat.Wide;

    /// <summary>Prints the document as JSON or YAML (the same keys, in the same order).</summary>
    public void Document(object document)
    {
        if (Settings.Format == OutputFormat.Yaml)
        {
            _out.Write(YamlText.From(JsonSerializer.SerializeToNode(document, Json)));
            return;
        }
        _out.WriteLine(JsonSerializer.Serialize(document, Json));
    }

    /// <summary>A line of text around the tables (a lab's state above its node table).</summary>
    public void Line(string text) => _out.WriteLine(OneLine(text));

    public void Table(TableData table)
    {
        if (_terminal is not null && Framed(table, _terminal.Profile.Width) is { } framed)
        {
            _terminal.Write(framed);
            _printedTable = true;
            return;
        }
        // Several tables (lab inspect): a blank line between plain ones, as kubectl describe does.
        if (_printedTable)
        {
            _out.WriteLine();
        }
        _printedTable = true;
        _out.Write(Plain(table, Settings.NoHeaders));
    }

    /// <summary>The Spectre table, or null when it would be wider than the terminal (Spectre would wrap cells then).</summary>
    internal Table? Framed(TableData data, int width)
    {
        var table = new Table();
        foreach (var header in data.Headers)
        {
            table.AddColumn(new TableColumn(new Text(header)) { NoWrap = true });
        }
        foreach (var row in data.Rows)
        {
            table.AddRow(row.Select(c => (IRenderable)new Text(c)).ToArray());
        }
        if (Settings.NoHeaders)
        {
            table.HideHeaders();
        }
        return NaturalWidth(table) <= width ? table : null;
    }

    /// <summary>How wide the table draws when nothing limits it: measured by drawing it, borders included.</summary>
    private static int NaturalWidth(Table table)
    {
        using var text = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(text),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 100_000;
        console.Write(table);
        return text.ToString().Split('\n').Max(l => TextWidth.Of(l.TrimEnd('\r')));
    }

    /// <summary>Plain columns: left-aligned, <see cref="Gap"/> spaces apart, no trailing spaces; empty cells show "-"
    /// so that every row has the same number of words before its last column.</summary>
    internal static string Plain(TableData table, bool noHeaders)
    {
        var rows = table.Rows.Select(r => r.Select(c => c.Length == 0 ? "-" : OneLine(c)).ToList()).ToList();
        if (!noHeaders)
        {
            rows.Insert(0, table.Headers.ToList());
        }
        var widths = table.Headers.Select((_, i) => rows.Max(r => i < r.Count ? TextWidth.Of(r[i]) : 0)).ToList();
        var text = new StringBuilder();
        foreach (var row in rows)
        {
            var line = new StringBuilder();
            for (var i = 0; i < row.Count; i++)
            {
                line.Append(row[i]);
                if (i < row.Count - 1)
                {
                    line.Append(' ', widths[i] - TextWidth.Of(row[i]) + Gap);
                }
            }
            text.Append(line.ToString().TrimEnd()).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>A cell as one line: its lines joined with ", ", other control characters as spaces.</summary>
    internal static string OneLine(string cell)
    {
        var lines = cell.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var joined = string.Join(", ", lines);
        return string.Create(joined.Length, joined, (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                span[i] = char.IsControl(s[i]) ? ' ' : s[i];
            }
        });
    }
}
