using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Ltb.Topology.Validation;
using Ltb.Topology.Yaml;

namespace Ltb.Topology.Policy;

/// <summary>
/// The policy as a document: JSON (the API's body, the database row) or YAML (an admin's `--policy FILE`), the same
/// keys in both (docs/security.md, "The policy and its defaults"). A key left out keeps its default; an unknown key or
/// an insane value is an error naming it.
/// </summary>
public static class TenantPolicyFile
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
        Converters = { new StringSetConverter() },
    };

    public static string ToJson(TenantPolicy policy) => JsonSerializer.Serialize(policy, Json);

    /// <summary>Reads JSON or YAML text (JSON is YAML, but JSON's own reader gives its own positions); errors name the key.</summary>
    public static (TenantPolicy? Policy, IReadOnlyList<string> Errors) Parse(string text, string file)
    {
        JsonNode? node;
        if (text.TrimStart().StartsWith('{'))
        {
            try
            {
                node = JsonNode.Parse(text);
            }
            catch (JsonException e)
            {
                return (null, [$"{file}: {e.Message}"]);
            }
        }
        else
        {
            var diagnostics = new DiagnosticBag();
            var yaml = YamlReader.Read(text, file, diagnostics);
            if (diagnostics.HasErrors)
            {
                return (null, [.. diagnostics.ToSortedList().Where(d => d.IsError).Select(d => d.ToString())]);
            }
            node = yaml is null ? new JsonObject() : ToJson(yaml);
        }
        TenantPolicy? policy;
        try
        {
            policy = node is JsonObject ? node.Deserialize<TenantPolicy>(Json) : null;
        }
        catch (JsonException e)
        {
            return (null, [$"{file}: {(e.Path is { Length: > 1 } p ? $"'{p[2..]}': " : "")}{e.Message.Split(" Path:")[0]}"]);
        }
        if (policy is null)
        {
            return (null, [$"{file}: a policy is a mapping of capabilities, ports, images, nodeDefaults, roleQuotas, groupQuotas, scheduling, outputLimitBytes"]);
        }
        policy = Canonical(policy);
        var errors = Check(policy);
        return errors.Count > 0 ? (null, [.. errors.Select(e => $"{file}: {e}")]) : (policy, []);
    }

    /// <summary>Capability names as Docker's canonical ones (`cap_net_admin` is NET_ADMIN).</summary>
    public static TenantPolicy Canonical(TenantPolicy policy) => policy with
    {
        Capabilities = policy.Capabilities.Select(TenantRules.Capability).ToHashSet(StringComparer.Ordinal),
    };

    /// <summary>What is wrong with a policy (empty: nothing), each naming the key and what is right.</summary>
    public static IReadOnlyList<string> Check(TenantPolicy policy)
    {
        var errors = new List<string>();
        foreach (var cap in policy.Capabilities.Where(c => c.Length == 0 || !c.All(ch => ch is (>= 'A' and <= 'Z') or '_')))
        {
            errors.Add($"'capabilities': '{cap}' is not a capability name such as NET_ADMIN");
        }
        var p = policy.Ports;
        if (p.First is < 1 or > 65535 || p.Last is < 1 or > 65535 || p.First > p.Last)
        {
            errors.Add($"'ports': first ({p.First}) and last ({p.Last}) must be host ports from 1 to 65535 with first <= last");
        }
        if (!IPAddress.TryParse(p.Address, out _))
        {
            errors.Add($"'ports.address': '{p.Address}' is not an IP address (published ports bind to it), e.g. 127.0.0.1");
        }
        foreach (var image in policy.Images.Where(i => string.IsNullOrWhiteSpace(i) || i.Contains(' ', StringComparison.Ordinal) || i.IndexOf('*') is >= 0 and var at && at != i.Length - 1))
        {
            errors.Add($"'images': '{image}' must be an image (repo:tag) or a prefix ending in '*'");
        }
        var n = policy.NodeDefaults;
        if (n.Cpu is <= 0 or > 1024 || n.MemoryBytes < 4L << 20 || n.Pids < 16 || n.LogBytes < 4096)
        {
            errors.Add("'nodeDefaults': cpu must be above 0, memoryBytes at least 4 MiB, pids at least 16, logBytes at least 4096");
        }
        foreach (var (scope, quotas) in new[] { ("roleQuotas", policy.RoleQuotas), ("groupQuotas", policy.GroupQuotas) })
        {
            foreach (var (name, q) in quotas.Where(q => q.Value is null || q.Value.RunningLabs < 0 || q.Value.Nodes < 0 || q.Value.Cpus < 0 || q.Value.MemoryBytes < 0
                || q.Value.ReservedHoursPerWeek < 0 || q.Value.LongestWindowHours <= 0 || q.Value.BookAheadDays < 0 || q.Value.LabLifetimeHours <= 0))
            {
                errors.Add($"'{scope}.{name}': figures must not be negative, windows and lifetimes above 0 (leave one out for no limit)");
            }
        }
        var s = policy.Scheduling;
        if (s.LeadSeconds is < 0 or > 86400 || s.WarningSeconds is < 0 or > 86400 || s.MaxExtensionMinutes is < 0 or > 10080)
        {
            errors.Add("'scheduling': leadSeconds and warningSeconds are 0 to 86400, maxExtensionMinutes 0 to 10080");
        }
        if (policy.OutputLimitBytes < 1024)
        {
            errors.Add($"'outputLimitBytes': {policy.OutputLimitBytes} is below 1024");
        }
        return errors;
    }

    /// <summary>YAML to JSON: plain scalars that read as numbers, booleans or null become those; quoted ones stay text.</summary>
    private static JsonNode? ToJson(YNode node) => node switch
    {
        YMapping m => new JsonObject(m.Entries.Select(e => KeyValuePair.Create(e.Key.Value, ToJson(e.Value)))),
        YSequence s => new JsonArray([.. s.Items.Select(ToJson)]),
        YScalar { IsNull: true } => null,
        YScalar { Style: YScalarStyle.Plain, Value: "true" or "True" } => JsonValue.Create(true),
        YScalar { Style: YScalarStyle.Plain, Value: "false" or "False" } => JsonValue.Create(false),
        YScalar { Style: YScalarStyle.Plain } sc when long.TryParse(sc.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) => JsonValue.Create(l),
        YScalar { Style: YScalarStyle.Plain } sc when double.TryParse(sc.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => JsonValue.Create(d),
        YScalar sc => JsonValue.Create(sc.Value),
        _ => null,
    };

    /// <summary>System.Text.Json cannot build an <see cref="IReadOnlySet{T}"/>: a list in, a sorted list out.</summary>
    private sealed class StringSetConverter : JsonConverter<IReadOnlySet<string>>
    {
        public override IReadOnlySet<string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            (JsonSerializer.Deserialize<List<string>>(ref reader, options) ?? []).ToHashSet(StringComparer.Ordinal);

        public override void Write(Utf8JsonWriter writer, IReadOnlySet<string> value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value.Order(StringComparer.Ordinal).ToList(), options);
    }
}
