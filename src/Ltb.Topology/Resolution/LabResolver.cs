using Ltb.Topology.Catalog;
using Ltb.Topology.Model;
using Ltb.Topology.Spec;
using Ltb.Topology.Validation;
using Ltb.Topology.Variables;

namespace Ltb.Topology.Resolution;

/// <summary>Turns a <see cref="TopologySpec"/> (either format) into a validated <see cref="Lab"/>.</summary>
internal static class LabResolver
{
    public static Lab? Resolve(TopologySpec spec, string absoluteFile, LoadOptions options, IReadOnlyDictionary<string, string> environment, DiagnosticBag diagnostics)
    {
        var name = spec.Name?.Value;
        if (name is null)
        {
            diagnostics.Error(new SourceSpan(spec.File, 1, 1), "the topology needs a 'name' (it names the lab's containers and files)");
            name = "lab";
        }
        else if (!Names.IsSafe(name))
        {
            diagnostics.Error(spec.Name!.Value.Span, $"lab name '{name}' {Names.SafeRule}");
        }
        if (spec.Prefix is { Value.Length: > 0 } prefix && !Names.IsSafe(prefix.Value))
        {
            diagnostics.Error(prefix.Span, $"prefix '{prefix.Value}' {Names.SafeRule}");
        }
        var directory = Path.GetDirectoryName(absoluteFile) ?? "/";
        var paths = new PathResolver(directory, options.Trusted, environment.GetValueOrDefault("HOME"), diagnostics);
        var magic = new MagicVariables(name, options.LabDirectory ?? Path.Combine(directory, "clab-" + name));
        CheckKindsSection(spec, options.Catalog, diagnostics);
        var tenant = new Policy.TenantRules(options, spec.Nodes.Select(n => n.Name.Value), diagnostics);
        tenant.Mgmt(spec.MgmtWritten, spec.Mgmt);
        var resolver = new NodeResolver(spec, options.Catalog, paths, magic, tenant, diagnostics);
        var nodes = new Dictionary<string, Node>(StringComparer.Ordinal);
        var ordered = new List<Node>();
        foreach (var (nodeName, nodeSpec) in spec.Nodes)
        {
            if (resolver.Resolve(nodeName, nodeSpec) is { } node)
            {
                nodes[node.Name] = node;
                ordered.Add(node);
            }
        }
        if (spec.Nodes.Count == 0)
        {
            diagnostics.Error(new SourceSpan(spec.File, 1, 1), "the topology defines no nodes; add them under 'nodes:'");
        }
        // A link to a node whose kind is unknown is reported once, for the node, not again for the link.
        var linkNodes = spec.Nodes.Where(n => !nodes.ContainsKey(n.Name.Value)).Select(n => n.Name.Value).ToHashSet(StringComparer.Ordinal);
        var linkResolver = new LinkResolver(nodes, tenant, diagnostics);
        var links = new List<Link>();
        foreach (var linkSpec in spec.Links)
        {
            if (linkSpec.Endpoints.Any(e => linkNodes.Contains(e.Node)))
            {
                continue;
            }
            if (linkResolver.Resolve(linkSpec) is { } link)
            {
                links.Add(link);
            }
        }
        LabRules.Check(spec, nodes, links, resolver.WaitForWritten, diagnostics);
        return new Lab
        {
            Name = name,
            Prefix = spec.Prefix?.Value,
            Description = spec.Description,
            Mgmt = spec.Mgmt,
            Nodes = ordered,
            Links = links,
            SourceFile = absoluteFile,
            Format = spec.Format,
        };
    }

    private static void CheckKindsSection(TopologySpec spec, NodeTypeCatalog catalog, DiagnosticBag diagnostics)
    {
        var word = spec.Format == TopologyFormat.Ltb ? "devices" : "kinds";
        foreach (var (kind, kindSpec) in spec.Kinds)
        {
            if (catalog.Find(kind) is null)
            {
                var suggestion = Yaml.Suggest.Closest(kind, catalog.Names);
                diagnostics.Error(kindSpec.Span, $"'{word}' configures unknown {word.TrimEnd('s')} '{kind}'" +
                    (suggestion is null ? $"; known: {NodeResolver.List(catalog.Names)}" : $"; did you mean '{suggestion}'?"));
            }
        }
    }
}
