namespace Ltb.Topology.Model;

/// <summary>Where something was written: file as given by the caller, 1-based line and column.</summary>
public readonly record struct SourceSpan(string File, int Line, int Column)
{
    /// <summary>For things that have no place in a file (defaults from the catalog, generated values).</summary>
    public static SourceSpan None { get; } = new("", 0, 0);

    public bool IsKnown => Line > 0;

    public override string ToString() => $"{File}:{Line}:{Column}";
}
