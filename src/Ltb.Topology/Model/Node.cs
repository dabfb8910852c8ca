using System.Text.Json.Serialization;
using Ltb.Topology.Catalog;

namespace Ltb.Topology.Model;

/// <summary>A resolved node: catalog defaults, kind, group and defaults levels merged; the most specific wins.</summary>
public sealed record Node
{
    public required string Name { get; init; }

    /// <summary>The catalog entry (its <see cref="NodeType.Name"/> is the canonical kind).</summary>
    [JsonIgnore]
    public required NodeType NodeType { get; init; }

    /// <summary>The canonical kind name (<see cref="NodeType.Name"/>), for output.</summary>
    public string Kind => NodeType.Name;

    public NodeRuntime Runtime => NodeType.Runtime;

    /// <summary>The catalog version asked for (LTB templates), if any.</summary>
    public string? Version { get; init; }

    /// <summary>containerlab's `type` (hardware variant of a kind, e.g. ixr-d3l).</summary>
    public string? Variant { get; init; }

    public string? Group { get; init; }

    public string? Image { get; init; }

    /// <summary>Env variables: the catalog's, then the env-files', then `env`; the most specific level wins.</summary>
    public IReadOnlyDictionary<string, string> Env { get; init; } = Empty.Map;

    /// <summary>The env-files read into <see cref="Env"/> (absolute paths, least specific level first), e.g. to upload them.</summary>
    public IReadOnlyList<EnvFile> EnvFiles { get; init; } = [];

    public IReadOnlyList<Bind> Binds { get; init; } = [];

    public StartupConfig? StartupConfig { get; init; }

    /// <summary>cloud-init user-data for VM nodes (LTB templates).</summary>
    public string? CloudInit { get; init; }

    public IReadOnlyList<string> Exec { get; init; } = [];

    public IReadOnlyList<PortMapping> Ports { get; init; } = [];

    public string? MgmtIpv4 { get; init; }

    public string? MgmtIpv6 { get; init; }

    public IReadOnlyDictionary<string, string> Labels { get; init; } = Empty.Map;

    public double? Cpu { get; init; }

    /// <summary>Memory limit as written (`1Gb`) and in bytes.</summary>
    public string? Memory { get; init; }

    public long? MemoryBytes { get; init; }

    public string? CpuSet { get; init; }

    public IReadOnlyList<string> CapAdd { get; init; } = [];

    public IReadOnlyDictionary<string, string> Sysctls { get; init; } = Empty.Map;

    public string? User { get; init; }

    public string? Entrypoint { get; init; }

    public string? Cmd { get; init; }

    public string? NetworkMode { get; init; }

    public string? RestartPolicy { get; init; }

    /// <summary>Nodes this one waits for before it is created (`wait-for` and `stages.*.wait-for`).</summary>
    public IReadOnlyList<string> WaitFor { get; init; } = [];

    /// <summary>containerlab's `stages` as written (LTB acts on their wait-for only).</summary>
    public object? Stages { get; init; }

    public Healthcheck? Healthcheck { get; init; }

    public Dns? Dns { get; init; }

    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>Absolute path of the license file.</summary>
    public string? License { get; init; }

    /// <summary>containerlab's `config.vars` (template variables), kept as written.</summary>
    public IReadOnlyDictionary<string, object?> ConfigVars { get; init; } = Empty.ObjectMap;

    /// <summary>Keys LTB keeps but does not act on yet (`extras`, `certificate`...), kept as written.</summary>
    public IReadOnlyDictionary<string, object?> Unsupported { get; init; } = Empty.ObjectMap;

    [JsonIgnore]
    public SourceSpan Span { get; init; }
}

/// <summary>A bind mount: host path made absolute (relative ones against the topology's folder).</summary>
public sealed record Bind(string Source, string Target, string? Mode)
{
    [JsonIgnore]
    public SourceSpan Span { get; init; }

    /// <summary>Equal when they mount the same thing the same way; where they were written does not matter.</summary>
    public bool Equals(Bind? other) => other is not null && Source == other.Source && Target == other.Target && Mode == other.Mode;

    public override int GetHashCode() => HashCode.Combine(Source, Target, Mode);

    /// <summary>The `SOURCE:TARGET[:MODE]` form of Docker and containerlab.</summary>
    public override string ToString() => Mode is null ? $"{Source}:{Target}" : $"{Source}:{Target}:{Mode}";
}

/// <summary>An env-file (`NAME=value` lines) of a node: its absolute path and where the topology names it.</summary>
public sealed record EnvFile(string Path)
{
    [JsonIgnore]
    public SourceSpan Span { get; init; }

    public bool Equals(EnvFile? other) => other is not null && Path == other.Path;

    public override int GetHashCode() => Path.GetHashCode(StringComparison.Ordinal);
}

/// <summary>A startup configuration: a file (absolute path) or text written inline in the topology.</summary>
public sealed record StartupConfig(string? Path, string? Text)
{
    [JsonIgnore]
    public SourceSpan Span { get; init; }

    public bool Equals(StartupConfig? other) => other is not null && Path == other.Path && Text == other.Text;

    public override int GetHashCode() => HashCode.Combine(Path, Text);
}

/// <summary>A published port: `[HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTOCOL]`.</summary>
public sealed record PortMapping(string? HostIp, int HostPort, int ContainerPort, string Protocol)
{
    public override string ToString() =>
        $"{(HostIp is null ? "" : HostIp + ":")}{HostPort}:{ContainerPort}{(Protocol == "tcp" ? "" : "/" + Protocol)}";
}

public sealed record Healthcheck(IReadOnlyList<string> Test, int? StartPeriod, int? Interval, int? Timeout, int? Retries);

public sealed record Dns(IReadOnlyList<string> Servers, IReadOnlyList<string> Search, IReadOnlyList<string> Options);

internal static class Empty
{
    public static readonly IReadOnlyDictionary<string, string> Map = new Dictionary<string, string>();
    public static readonly IReadOnlyDictionary<string, object?> ObjectMap = new Dictionary<string, object?>();
}
