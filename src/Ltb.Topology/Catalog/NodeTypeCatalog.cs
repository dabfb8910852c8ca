using Ltb.Topology.Validation;

namespace Ltb.Topology.Catalog;

/// <summary>
/// The device catalog: node types by name and containerlab alias. Built-in types are YAML files embedded from
/// Catalog/BuiltIn; admins add or replace types with YAML files (<see cref="WithFiles"/>).
/// </summary>
public sealed class NodeTypeCatalog
{
    private const string ResourcePrefix = "Ltb.Topology.Catalog.BuiltIn.";
    private static readonly Lazy<NodeTypeCatalog> LazyBuiltIn = new(LoadBuiltIn);

    private readonly Dictionary<string, NodeType> _byName;
    private readonly Dictionary<string, NodeType> _byAlias;

    private NodeTypeCatalog(IEnumerable<NodeType> types)
    {
        _byName = new Dictionary<string, NodeType>(StringComparer.Ordinal);
        foreach (var t in types)
        {
            _byName[t.Name] = t;
        }
        _byAlias = new Dictionary<string, NodeType>(StringComparer.Ordinal);
        foreach (var t in _byName.Values)
        {
            foreach (var alias in t.Aliases)
            {
                _byAlias.TryAdd(alias, t);
            }
        }
    }

    /// <summary>The types shipped with LTB.</summary>
    public static NodeTypeCatalog BuiltIn => LazyBuiltIn.Value;

    /// <summary>The kind of a node that names none (containerlab's default).</summary>
    public const string DefaultKind = "linux";

    public IEnumerable<NodeType> Types => _byName.Values.OrderBy(t => t.Name, StringComparer.Ordinal);

    public IEnumerable<string> Names => _byName.Keys.Order(StringComparer.Ordinal);

    /// <summary>By name or containerlab alias (`srl` -> nokia_srlinux).</summary>
    public NodeType? Find(string nameOrAlias) =>
        _byName.GetValueOrDefault(nameOrAlias) ?? _byAlias.GetValueOrDefault(nameOrAlias);

    /// <summary>This catalog plus the types in <paramref name="files"/> (a type with an existing name replaces it).</summary>
    public NodeTypeCatalog WithFiles(IEnumerable<string> files, DiagnosticBag diagnostics)
    {
        var added = new List<NodeType>();
        foreach (var file in files)
        {
            string text;
            try
            {
                text = File.ReadAllText(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                diagnostics.Error(new Model.SourceSpan(file, 1, 1), $"cannot read the node type file: {e.Message}");
                continue;
            }
            if (NodeTypeReader.Read(text, file, diagnostics) is { } type)
            {
                added.Add(type);
            }
        }
        return new NodeTypeCatalog(_byName.Values.Concat(added));
    }

    /// <summary>This catalog plus <paramref name="types"/> (a type with an existing name replaces it), e.g. those an
    /// administrator stored in the server's database.</summary>
    public NodeTypeCatalog With(IEnumerable<NodeType> types) => new(_byName.Values.Concat(types));

    /// <summary>This catalog plus every `*.yaml` / `*.yml` file of <paramref name="directory"/>.</summary>
    public NodeTypeCatalog WithDirectory(string directory, DiagnosticBag diagnostics) =>
        WithFiles(Directory.EnumerateFiles(directory, "*.y*ml").Order(StringComparer.Ordinal), diagnostics);

    /// <summary>The YAML definition a built-in type was read from; null for a type that is not built in.</summary>
    public static string? BuiltInDefinition(NodeType type)
    {
        if (!type.Source.StartsWith(ResourcePrefix, StringComparison.Ordinal)
            || typeof(NodeTypeCatalog).Assembly.GetManifestResourceStream(type.Source) is not { } stream)
        {
            return null;
        }
        using (stream)
        using (var reader = new StreamReader(stream))
        {
            return reader.ReadToEnd();
        }
    }

    private static NodeTypeCatalog LoadBuiltIn()
    {
        var assembly = typeof(NodeTypeCatalog).Assembly;
        var diagnostics = new DiagnosticBag();
        var types = new List<NodeType>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            if (NodeTypeReader.Read(reader.ReadToEnd(), name, diagnostics) is { } type)
            {
                types.Add(type);
            }
        }
        if (diagnostics.HasErrors)
        {
            // A broken built-in file is a bug in LTB itself, caught by the catalog tests.
            throw new InvalidOperationException("built-in node types are invalid: " + string.Join("; ", diagnostics.ToSortedList()));
        }
        return new NodeTypeCatalog(types);
    }
}
