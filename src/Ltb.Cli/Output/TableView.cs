namespace Ltb.Cli.Output;

/// <summary>
/// A column of a listing. <paramref name="Narrow"/> null: the column shows only in wide output; <paramref name="Wide"/>
/// null: wide output shows the narrow value. A value may hold several lines (one per interface, say): a terminal table
/// shows them stacked in the cell, plain columns join them with ", " so that every row stays one line.
/// </summary>
internal sealed record Column<T>(string Header, Func<T, string>? Narrow, Func<T, string>? Wide = null)
{
    public static Column<T> WideOnly(string header, Func<T, string> value) => new(header, null, value);
}

/// <summary>The headers and cells of one table, as text, ready for <see cref="Printer"/>.</summary>
internal sealed record TableData(IReadOnlyList<string> Headers, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>The columns of one kind of listing; <see cref="For"/> picks the narrow or the wide set.</summary>
internal sealed class TableView<T>(params Column<T>[] columns)
{
    public TableData For(IEnumerable<T> items, bool wide)
    {
        var shown = columns.Where(c => wide || c.Narrow is not null).ToList();
        var values = shown.Select(c => wide ? c.Wide ?? c.Narrow! : c.Narrow!).ToList();
        return new TableData(shown.Select(c => c.Header).ToList(),
            items.Select(item => (IReadOnlyList<string>)values.Select(v => v(item)).ToList()).ToList());
    }
}
