namespace Ltb.Topology.Yaml;

/// <summary>Bounds that keep hostile input from eating memory or time.</summary>
public sealed record YamlLimits
{
    public static YamlLimits Default { get; } = new();

    /// <summary>Topology files are small; 1 MiB holds a lab of several thousand nodes.</summary>
    public int MaxBytes { get; init; } = 1024 * 1024;

    /// <summary>Nesting depth of mappings and lists; real topologies use fewer than 10.</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>
    /// Nodes a full traversal may visit with every alias expanded: the billion-laughs bound. Without aliases a 1 MiB
    /// file has at most about 500,000 nodes, so this does not refuse honest files.
    /// </summary>
    public long MaxExpandedNodes { get; init; } = 1_000_000;
}
