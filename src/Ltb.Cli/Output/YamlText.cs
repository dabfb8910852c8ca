using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ltb.Cli.Output;

/// <summary>
/// A JSON document as YAML: the same keys in the same order, so `-o yaml` and `-o json` carry the same content. Text that
/// a YAML reader would take for something else (a number, a boolean, null, a date, an address such as 02:42:ac:11:00:02
/// that YAML 1.1 reads as a base-60 number) is quoted, so that it reads back as the text it is.
/// </summary>
internal static partial class YamlText
{
    public static string From(JsonNode? document)
    {
        var stream = new YamlStream(new YamlDocument(Node(document)));
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString();
        // YamlStream ends a document with "...": not wanted on a terminal.
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    private static YamlNode Node(JsonNode? node) => node switch
    {
        JsonObject o => new YamlMappingNode(o.Select(kv => new KeyValuePair<YamlNode, YamlNode>(Text(kv.Key), Node(kv.Value)))),
        JsonArray a => new YamlSequenceNode(a.Select(Node)),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => Text(v.GetValue<string>()),
        null => new YamlScalarNode("null") { Style = ScalarStyle.Plain },
        // Numbers and booleans: JSON's spelling is also YAML's.
        _ => new YamlScalarNode(node.ToJsonString()) { Style = ScalarStyle.Plain },
    };

    private static YamlScalarNode Text(string value)
    {
        var node = new YamlScalarNode(value);
        if (value.Length == 0 || Ambiguous().IsMatch(value) || value.Any(c => char.IsControl(c)))
        {
            node.Style = ScalarStyle.DoubleQuoted;
        }
        return node;
    }

    /// <summary>Plain scalars that YAML 1.1 or 1.2 readers resolve to something other than text: null, booleans,
    /// numbers, dates and times (anything starting with a digit, optionally signed or after a dot), merge keys.</summary>
    [GeneratedRegex(@"^(?:~|null|true|false|yes|no|on|off|y|n|<<|=|[-+]?\.?[0-9].*|[-+]?\.inf|\.nan)$", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex Ambiguous();
}
