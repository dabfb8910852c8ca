using Ltb.Server.Data;
using Ltb.Topology.Catalog;
using Ltb.Topology.Validation;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Catalog;

/// <summary>
/// The effective device catalog of this server: the built-in node types (src/Ltb.Topology/Catalog/BuiltIn) with the
/// types admins stored in the database applied on top (new types, changed definitions, retirements). Every topology
/// the server loads (deployments, template uploads) is loaded with it, so a retired type is refused everywhere at once.
/// </summary>
public sealed class NodeTypeStore(LtbDbContext db)
{
    /// <summary>The file name diagnostics of a stored definition carry.</summary>
    public const string DefinitionFile = "node-type.yaml";

    public async Task<NodeTypeCatalog> CatalogAsync(CancellationToken ct) =>
        Effective(await db.NodeTypes.AsNoTracking().ToListAsync(ct));

    /// <summary>Rows are read fresh for every load: a handful of small definitions, and no cache to invalidate across instances.</summary>
    public static NodeTypeCatalog Effective(IEnumerable<StoredNodeType> rows) =>
        NodeTypeCatalog.BuiltIn.With(rows.Select(ToNodeType).OfType<NodeType>());

    /// <summary>The type a row stands for (null only for a row whose definition no longer reads, which validation prevents).</summary>
    public static NodeType? ToNodeType(StoredNodeType row)
    {
        var type = row.Definition is null
            ? NodeTypeCatalog.BuiltIn.Find(row.Name)
            : NodeTypeReader.Read(row.Definition, $"node-types/{row.Name}", new DiagnosticBag());
        return type is null ? null : type with { Retired = row.Retired };
    }

    /// <summary>Reads a definition as the built-in files are read: the type, or every positioned problem.</summary>
    public static (NodeType? Type, IReadOnlyList<Diagnostic> Diagnostics) Validate(string definition)
    {
        var diagnostics = new DiagnosticBag();
        var type = NodeTypeReader.Read(definition, DefinitionFile, diagnostics);
        return (diagnostics.HasErrors ? null : type, diagnostics.ToSortedList());
    }
}
