using Ltb.Topology.Model;

namespace Ltb.Topology.Yaml;

/// <summary>
/// A YAML node with its position: the positioned representation every parser in LTB reads from. Aliases are resolved
/// to the anchored node (shared, not copied); <see cref="ExpandedSize"/> counts what a full traversal would visit.
/// </summary>
public abstract class YNode(SourceSpan span)
{
    public SourceSpan Span { get; } = span;

    /// <summary>Nodes a traversal visits, counting every alias as a full copy (bounded by the reader's limits).</summary>
    public abstract long ExpandedSize { get; }

    /// <summary>What the node is, for messages: "a mapping", "a list", "a text value".</summary>
    public abstract string Describe();
}

public enum YScalarStyle
{
    Plain,
    Quoted,
    Block,
}

public sealed class YScalar(SourceSpan span, string value, YScalarStyle style) : YNode(span)
{
    public string Value { get; } = value;

    public YScalarStyle Style { get; } = style;

    /// <summary>YAML's null: an empty plain scalar, `~` or `null` (quoted text is never null).</summary>
    public bool IsNull => Style == YScalarStyle.Plain && Value is "" or "~" or "null" or "Null" or "NULL";

    public override long ExpandedSize => 1;

    public override string Describe() => IsNull ? "nothing (null)" : $"the text '{Value}'";
}

public sealed class YSequence(SourceSpan span, IReadOnlyList<YNode> items) : YNode(span)
{
    public IReadOnlyList<YNode> Items { get; } = items;

    public override long ExpandedSize { get; } = 1 + items.Sum(i => i.ExpandedSize);

    public override string Describe() => "a list";
}

public sealed record YEntry(YScalar Key, YNode Value);

public sealed class YMapping : YNode
{
    private readonly Dictionary<string, YEntry> _byKey;

    public YMapping(SourceSpan span, IReadOnlyList<YEntry> entries)
        : base(span)
    {
        Entries = entries;
        _byKey = new Dictionary<string, YEntry>(entries.Count, StringComparer.Ordinal);
        long size = 1;
        foreach (var e in entries)
        {
            _byKey.TryAdd(e.Key.Value, e);
            size += 1 + e.Value.ExpandedSize;
        }
        ExpandedSize = size;
    }

    public IReadOnlyList<YEntry> Entries { get; }

    public override long ExpandedSize { get; }

    public YEntry? Find(string key) => _byKey.GetValueOrDefault(key);

    public YNode? this[string key] => Find(key)?.Value;

    public override string Describe() => "a mapping";
}
