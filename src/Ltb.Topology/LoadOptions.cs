using Ltb.Topology.Catalog;
using Ltb.Topology.Yaml;

namespace Ltb.Topology;

/// <summary>How to load a topology: who is asking, which environment and catalog apply.</summary>
public sealed record LoadOptions
{
    /// <summary>Administrators: host paths, host links, any capability, port or image; untrusted callers get <see cref="Policy"/>.</summary>
    public bool Trusted { get; init; }

    /// <summary>What an untrusted caller may ask for (refused at the setting's position otherwise); the node limits apply to all.</summary>
    public Ltb.Topology.Policy.TenantPolicy Policy { get; init; } = Ltb.Topology.Policy.TenantPolicy.Default;

    /// <summary>
    /// Images already on the lab hosts the caller may place labs on (`repo:tag`): a non-admin may use them (and the
    /// catalog's and the policy's); the server fills it in from the hosts' reports.
    /// </summary>
    public IReadOnlySet<string> LocalImages { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Variables for `${VAR}` substitution; null means the process environment.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    public NodeTypeCatalog Catalog { get; init; } = NodeTypeCatalog.BuiltIn;

    /// <summary>The lab's working folder for `__clabDir__`; null means containerlab's `clab-NAME` beside the topology.</summary>
    public string? LabDirectory { get; init; }

    public YamlLimits Limits { get; init; } = YamlLimits.Default;

    public static LoadOptions Default { get; } = new();

    internal IReadOnlyDictionary<string, string> EffectiveEnvironment() =>
        Environment ?? System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
}
