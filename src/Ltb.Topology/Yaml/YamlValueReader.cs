using System.Globalization;
using Ltb.Topology.Model;
using Ltb.Topology.Validation;

namespace Ltb.Topology.Yaml;

/// <summary>A value read from YAML together with where it was written.</summary>
public readonly record struct Positioned<T>(T Value, SourceSpan Span);

/// <summary>
/// Typed reads of <see cref="YNode"/>s that report a positioned error instead of throwing. Text values pass through
/// <c>substitute</c> (variable expansion) when one is given. Every method returns null after reporting.
/// </summary>
public sealed class YamlValueReader(DiagnosticBag diagnostics, Func<string, SourceSpan, string?>? substitute = null)
{
    public DiagnosticBag Diagnostics => diagnostics;

    public string? Text(YNode node, string what)
    {
        if (node is not YScalar scalar)
        {
            diagnostics.Error(node.Span, $"{what} must be a text value, not {node.Describe()}");
            return null;
        }
        if (scalar.IsNull)
        {
            return null;
        }
        return substitute is null ? scalar.Value : substitute(scalar.Value, scalar.Span);
    }

    public Positioned<string>? PositionedText(YNode node, string what) =>
        Text(node, what) is { } text ? new Positioned<string>(text, node.Span) : null;

    public List<Positioned<string>>? TextList(YNode node, string what)
    {
        if (node is YScalar { IsNull: true })
        {
            return [];
        }
        if (node is not YSequence sequence)
        {
            diagnostics.Error(node.Span, $"{what} must be a list, not {node.Describe()}");
            return null;
        }
        var result = new List<Positioned<string>>(sequence.Items.Count);
        foreach (var item in sequence.Items)
        {
            if (PositionedText(item, $"each entry of {what}") is { } text)
            {
                result.Add(text);
            }
        }
        return result;
    }

    /// <summary>A mapping of text to text (env, labels, sysctls). Numbers and booleans are kept as written.</summary>
    public List<(Positioned<string> Key, Positioned<string> Value)>? TextMap(YNode node, string what)
    {
        if (node is YScalar { IsNull: true })
        {
            return [];
        }
        if (Mapping(node, what) is not { } mapping)
        {
            return null;
        }
        var result = new List<(Positioned<string>, Positioned<string>)>(mapping.Entries.Count);
        foreach (var entry in mapping.Entries)
        {
            var value = entry.Value is YScalar { IsNull: true } ? "" : Text(entry.Value, $"{what} '{entry.Key.Value}'");
            if (value is not null)
            {
                result.Add((new Positioned<string>(entry.Key.Value, entry.Key.Span), new Positioned<string>(value, entry.Value.Span)));
            }
        }
        return result;
    }

    public YMapping? Mapping(YNode node, string what)
    {
        if (node is YMapping mapping)
        {
            return mapping;
        }
        diagnostics.Error(node.Span, $"{what} must be a mapping (key: value lines), not {node.Describe()}");
        return null;
    }

    public long? Integer(YNode node, string what, long min, long max)
    {
        if (Text(node, what) is not { } text)
        {
            return null;
        }
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }
        diagnostics.Error(node.Span, $"{what} must be a whole number from {min} to {max}, not '{text}'");
        return null;
    }

    public double? Number(YNode node, string what, double min, double max)
    {
        if (Text(node, what) is not { } text)
        {
            return null;
        }
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }
        diagnostics.Error(node.Span, $"{what} must be a number from {min} to {max}, not '{text}'");
        return null;
    }

    public bool? Boolean(YNode node, string what)
    {
        if (Text(node, what) is not { } text)
        {
            return null;
        }
        switch (text.ToLowerInvariant())
        {
            case "true" or "yes" or "on":
                return true;
            case "false" or "no" or "off":
                return false;
            default:
                diagnostics.Error(node.Span, $"{what} must be true or false, not '{text}'");
                return null;
        }
    }

    /// <summary>A value LTB keeps without interpreting it (vars, extras): text, lists and mappings of them.</summary>
    public object? Plain(YNode node) => node switch
    {
        YScalar { IsNull: true } => null,
        YScalar s => substitute is null ? s.Value : substitute(s.Value, s.Span) ?? s.Value,
        YSequence seq => seq.Items.Select(Plain).ToList(),
        YMapping m => m.Entries.ToDictionary(e => e.Key.Value, e => Plain(e.Value), StringComparer.Ordinal),
        _ => null,
    };

    /// <summary>
    /// Reports keys of <paramref name="mapping"/> that are not in <paramref name="known"/> as errors with a suggestion.
    /// </summary>
    public void RejectUnknownKeys(YMapping mapping, string where, IReadOnlyCollection<string> known)
    {
        foreach (var entry in mapping.Entries)
        {
            if (!known.Contains(entry.Key.Value))
            {
                diagnostics.Error(entry.Key.Span, UnknownKey(entry.Key.Value, where, known));
            }
        }
    }

    public static string UnknownKey(string key, string where, IEnumerable<string> known)
    {
        var suggestion = Suggest.Closest(key, known);
        return suggestion is null
            ? $"unknown key '{key}' in {where}; known keys: {string.Join(", ", known.Order(StringComparer.Ordinal))}"
            : $"unknown key '{key}' in {where}; did you mean '{suggestion}'?";
    }
}

/// <summary>"Did you mean" by edit distance, for names the user probably mistyped.</summary>
public static class Suggest
{
    public static string? Closest(string written, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            var d = Distance(written.ToLowerInvariant(), c.ToLowerInvariant());
            if (d < bestDistance)
            {
                (best, bestDistance) = (c, d);
            }
        }
        return bestDistance <= Math.Max(2, written.Length / 3) ? best : null;
    }

    private static int Distance(string a, string b)
    {
        if (Math.Abs(a.Length - b.Length) > 3 || a.Length > 64 || b.Length > 64)
        {
            return int.MaxValue;
        }
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
