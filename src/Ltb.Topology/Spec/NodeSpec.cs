using Ltb.Topology.Model;
using Ltb.Topology.Yaml;

namespace Ltb.Topology.Spec;

/// <summary>
/// One level of node settings as written (defaults, a kind, a group, or a node), before inheritance. Every field is
/// optional and keeps its position. Both formats read into this, so resolution and validation exist once.
/// </summary>
public sealed class NodeSpec(SourceSpan span)
{
    public SourceSpan Span { get; } = span;

    public Positioned<string>? Kind { get; set; }
    public Positioned<string>? Version { get; set; }
    public Positioned<string>? Variant { get; set; }
    public Positioned<string>? Group { get; set; }
    public Positioned<string>? Image { get; set; }

    /// <summary>A path (relative to the topology file) or, when it spans several lines, the configuration itself.</summary>
    public Positioned<string>? StartupConfig { get; set; }

    /// <summary>Set when the format says explicitly that <see cref="StartupConfig"/> is text (LTB `config:`).</summary>
    public bool StartupConfigIsText { get; set; }

    public Positioned<string>? CloudInit { get; set; }
    public Positioned<string>? MgmtIpv4 { get; set; }
    public Positioned<string>? MgmtIpv6 { get; set; }
    public Positioned<string>? Cpu { get; set; }
    public Positioned<string>? Memory { get; set; }
    public Positioned<string>? CpuSet { get; set; }
    public Positioned<string>? User { get; set; }
    public Positioned<string>? Entrypoint { get; set; }
    public Positioned<string>? Cmd { get; set; }
    public Positioned<string>? NetworkMode { get; set; }
    public Positioned<string>? RestartPolicy { get; set; }
    public Positioned<string>? License { get; set; }

    public List<(Positioned<string> Key, Positioned<string> Value)>? Env { get; set; }
    public List<(Positioned<string> Key, Positioned<string> Value)>? Labels { get; set; }
    public List<(Positioned<string> Key, Positioned<string> Value)>? Sysctls { get; set; }

    public List<Positioned<string>>? Binds { get; set; }
    public List<Positioned<string>>? EnvFiles { get; set; }
    public List<Positioned<string>>? Exec { get; set; }
    public List<Positioned<string>>? Ports { get; set; }
    public List<Positioned<string>>? CapAdd { get; set; }
    public List<Positioned<string>>? WaitFor { get; set; }
    public List<Positioned<string>>? Aliases { get; set; }

    /// <summary>`stages` as written, and the wait-for entries found inside it.</summary>
    public object? Stages { get; set; }
    public List<Positioned<string>>? StagesWaitFor { get; set; }

    public Healthcheck? Healthcheck { get; set; }
    public Dns? Dns { get; set; }
    public Dictionary<string, object?>? ConfigVars { get; set; }

    /// <summary>Keys LTB knows but does not act on yet; kept for conversion, warned about.</summary>
    public Dictionary<string, object?> Unsupported { get; } = new(StringComparer.Ordinal);

    /// <summary>Where each of <see cref="Unsupported"/> is written (some reach the host: refused to non-admins).</summary>
    public Dictionary<string, SourceSpan> UnsupportedAt { get; } = new(StringComparer.Ordinal);
}
