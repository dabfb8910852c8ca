using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using YamlDotNet.RepresentationModel;

namespace Ltb.Topology.Model;

/// <summary>The stable JSON (camelCase) form of a resolved lab, as `ltb topology show` prints it (docs/topology.md).</summary>
public static class LabJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        // Output only: `required` is for constructing the model, not for reading JSON.
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { NotRequired } },
    };

    private static void NotRequired(JsonTypeInfo info)
    {
        foreach (var property in info.Properties)
        {
            property.IsRequired = false;
        }
    }

    public static string ToJson(Lab lab) => JsonSerializer.Serialize(lab, Options);

    /// <summary>The same content as YAML (keys and values as in the JSON form).</summary>
    public static string ToYaml(Lab lab) => Writing.YamlOut.Print(ToYamlNode(JsonSerializer.SerializeToNode(lab, Options)));

    private static YamlNode ToYamlNode(JsonNode? node) => node switch
    {
        JsonObject o => new YamlMappingNode(o.Select(kv => new KeyValuePair<YamlNode, YamlNode>(Writing.YamlOut.Scalar(kv.Key), ToYamlNode(kv.Value)))),
        JsonArray a => new YamlSequenceNode(a.Select(ToYamlNode)),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => Writing.YamlOut.Scalar(v.GetValue<string>()),
        null => new YamlScalarNode("null"),
        _ => new YamlScalarNode(node.ToJsonString()),
    };
}
