using System.CommandLine;

namespace Ltb.Cli.Output;

/// <summary>How a listing command prints: a table (Spectre's on a terminal, plain columns otherwise), the wide table,
/// or the document as JSON or YAML.</summary>
internal enum OutputFormat { Table, Wide, Json, Yaml }

internal sealed record OutputSettings(OutputFormat Format, bool NoHeaders)
{
    public bool IsDocument => Format is OutputFormat.Json or OutputFormat.Yaml;
}

/// <summary>
/// The output options every listing command takes: `-o table|wide|json|yaml` (as kubectl), `--format` (the older
/// spelling, kept so that scripts written for `--format json` keep working) and `--no-headers`.
/// </summary>
internal sealed class OutputOptions
{
    private static readonly string[] Formats = ["table", "wide", "json", "yaml"];

    private readonly Option<string?> _output = new("--output", "-o")
    {
        Description = "table (plain columns when not a terminal), wide (more columns), json or yaml [default: table]",
    };

    private readonly Option<string?> _format = new("--format") { Description = "The same as -o (the older spelling)" };

    private readonly Option<bool> _noHeaders = new("--no-headers") { Description = "Leave out the header line of table and wide output (for scripts)." };

    public OutputOptions()
    {
        _output.AcceptOnlyFromAmong(Formats);
        _format.AcceptOnlyFromAmong(Formats);
    }

    /// <summary>Adds the options to the command, with a check that -o and --format, when both given, agree.</summary>
    public Command AddTo(Command command)
    {
        command.Options.Add(_output);
        command.Options.Add(_format);
        command.Options.Add(_noHeaders);
        command.Validators.Add(result =>
        {
            var output = result.GetValue(_output);
            var format = result.GetValue(_format);
            if (output is not null && format is not null && output != format)
            {
                result.AddError($"-o {output} and --format {format} disagree: give one of them");
            }
        });
        return command;
    }

    public OutputSettings Read(ParseResult parse)
    {
        var text = parse.GetValue(_output) ?? parse.GetValue(_format) ?? "table";
        var format = text switch
        {
            "wide" => OutputFormat.Wide,
            "json" => OutputFormat.Json,
            "yaml" => OutputFormat.Yaml,
            _ => OutputFormat.Table,
        };
        return new OutputSettings(format, parse.GetValue(_noHeaders));
    }
}
