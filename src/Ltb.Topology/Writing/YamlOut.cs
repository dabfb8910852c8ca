using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ltb.Topology.Writing;

/// <summary>Small helpers to build YAML with YamlDotNet's representation model and print it.</summary>
internal static class YamlOut
{
    public static YamlScalarNode Scalar(string value)
    {
        var node = new YamlScalarNode(value);
        if (value.Contains('\n', StringComparison.Ordinal) && !value.Contains('\r', StringComparison.Ordinal) && !value.EndsWith(' ') && !value.StartsWith(' '))
        {
            node.Style = ScalarStyle.Literal;
        }
        else if (value is "" or "~" or "null" or "Null" or "NULL" or "<<")
        {
            // Plain, these would read back as null or a merge key.
            node.Style = ScalarStyle.DoubleQuoted;
        }
        return node;
    }

    /// <summary>Text as a literal block (`|`), which both formats read as text rather than a path.</summary>
    public static YamlScalarNode Block(string value) => new(value) { Style = ScalarStyle.Literal };

    public static void Put(this YamlMappingNode map, string key, string? value)
    {
        if (value is not null)
        {
            map.Add(key, Scalar(value));
        }
    }

    public static void Put(this YamlMappingNode map, string key, double? value)
    {
        if (value is { } v)
        {
            map.Add(key, v.ToString(CultureInfo.InvariantCulture));
        }
    }

    public static void PutList(this YamlMappingNode map, string key, IEnumerable<string> values)
    {
        var list = values.ToList();
        if (list.Count > 0)
        {
            map.Add(key, new YamlSequenceNode(list.Select(Scalar)));
        }
    }

    public static void PutMap(this YamlMappingNode map, string key, IEnumerable<KeyValuePair<string, string>> values)
    {
        var pairs = values.ToList();
        if (pairs.Count > 0)
        {
            var node = new YamlMappingNode();
            foreach (var (k, v) in pairs)
            {
                node.Add(Scalar(k), Scalar(v));
            }
            map.Add(key, node);
        }
    }

    public static void PutPlain(this YamlMappingNode map, string key, object? value)
    {
        if (value is IReadOnlyDictionary<string, object?> { Count: 0 } or null)
        {
            return;
        }
        map.Add(key, Plain(value));
    }

    /// <summary>A value kept as written (vars, extras): text, lists and mappings of them.</summary>
    public static YamlNode Plain(object? value) => value switch
    {
        null => new YamlScalarNode("~") { Style = ScalarStyle.Plain },
        string s => Scalar(s),
        IReadOnlyDictionary<string, object?> d => new YamlMappingNode(d.Select(kv => new KeyValuePair<YamlNode, YamlNode>(Scalar(kv.Key), Plain(kv.Value)))),
        IEnumerable<object?> list => new YamlSequenceNode(list.Select(Plain)),
        _ => Scalar(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""),
    };

    public static string Print(YamlNode root)
    {
        var stream = new YamlStream(new YamlDocument(root));
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString();
        // YamlStream ends documents with "...": not wanted in a file a person reads.
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    /// <summary>A path as the written file should hold it: relative to the output folder when inside it.</summary>
    public static string PathFor(string absolute, string outputDirectory)
    {
        var relative = Path.GetRelativePath(outputDirectory, absolute);
        return relative == "." ? "." : relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? absolute : relative;
    }
}
