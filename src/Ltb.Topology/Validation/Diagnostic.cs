using Ltb.Topology.Model;

namespace Ltb.Topology.Validation;

public enum Severity
{
    Warning,
    Error,
}

/// <summary>One finding about a topology, printed the way a compiler does: `FILE:LINE:COLUMN: error: message`.</summary>
public sealed record Diagnostic(Severity Severity, SourceSpan Span, string Message)
{
    public bool IsError => Severity == Severity.Error;

    public override string ToString() =>
        $"{Span.File}:{Span.Line}:{Span.Column}: {(IsError ? "error" : "warning")}: {Message}";
}

/// <summary>Collects diagnostics of one load, in the order they are found (sorted by position at the end).</summary>
public sealed class DiagnosticBag
{
    private readonly List<Diagnostic> _items = [];

    public bool HasErrors { get; private set; }

    public int Count => _items.Count;

    public void Error(SourceSpan span, string message)
    {
        HasErrors = true;
        _items.Add(new Diagnostic(Severity.Error, span, message));
    }

    public void Warning(SourceSpan span, string message) => _items.Add(new Diagnostic(Severity.Warning, span, message));

    public void AddRange(IEnumerable<Diagnostic> diagnostics)
    {
        foreach (var d in diagnostics)
        {
            _items.Add(d);
            HasErrors |= d.IsError;
        }
    }

    /// <summary>By file, line and column, so that output reads top to bottom like the file; stable for equal positions.</summary>
    public IReadOnlyList<Diagnostic> ToSortedList() =>
    [
        .. _items
            .Select((d, i) => (d, i))
            .OrderBy(x => x.d.Span.File, StringComparer.Ordinal)
            .ThenBy(x => x.d.Span.Line)
            .ThenBy(x => x.d.Span.Column)
            .ThenBy(x => x.i)
            .Select(x => x.d),
    ];
}
