using Ltb.Topology.Model;
using Ltb.Topology.Yaml;

namespace Ltb.Topology.Spec;

/// <summary>
/// The node keys of a format and how each is read into a <see cref="NodeSpec"/>. The two formats share most keys
/// (<see cref="Shared"/>) and differ in a few (<see cref="Containerlab"/>, <see cref="Ltb"/>); keys LTB knows but
/// does not act on yet are kept and produce a warning.
/// </summary>
public sealed class NodeFields
{
    private delegate void Read(NodeSpec spec, YNode value, YamlValueReader r, string what);

    private readonly Dictionary<string, Read> _fields;

    /// <summary>Keys of the other format and what this format calls them, for the unknown-key message.</summary>
    private readonly Dictionary<string, string> _otherFormat;

    private NodeFields(Dictionary<string, Read> fields, Dictionary<string, string> otherFormat)
    {
        _fields = fields;
        _otherFormat = otherFormat;
    }

    /// <summary>containerlab node keys LTB keeps but does not act on yet.</summary>
    public static IReadOnlyList<string> UnsupportedKeys { get; } =
    [
        "extras", "runtime", "publish", "sandbox", "kernel", "certificate", "enforce-startup-config",
        "suppress-startup-config", "auto-remove", "startup-delay", "components", "devices", "shm-size",
        "image-pull-policy", "position", "mgmt-interface", "mac-address",
    ];

    private static Dictionary<string, Read> Shared() => new(StringComparer.Ordinal)
    {
        ["group"] = (s, v, r, w) => s.Group = r.PositionedText(v, w),
        ["image"] = (s, v, r, w) => s.Image = r.PositionedText(v, w),
        ["mgmt-ipv4"] = (s, v, r, w) => s.MgmtIpv4 = r.PositionedText(v, w),
        ["mgmt-ipv6"] = (s, v, r, w) => s.MgmtIpv6 = r.PositionedText(v, w),
        ["cpu"] = (s, v, r, w) => s.Cpu = r.PositionedText(v, w),
        ["memory"] = (s, v, r, w) => s.Memory = r.PositionedText(v, w),
        ["cpu-set"] = (s, v, r, w) => s.CpuSet = r.PositionedText(v, w),
        ["user"] = (s, v, r, w) => s.User = r.PositionedText(v, w),
        ["entrypoint"] = (s, v, r, w) => s.Entrypoint = r.PositionedText(v, w),
        ["cmd"] = (s, v, r, w) => s.Cmd = r.PositionedText(v, w),
        ["network-mode"] = (s, v, r, w) => s.NetworkMode = r.PositionedText(v, w),
        ["restart-policy"] = (s, v, r, w) => s.RestartPolicy = r.PositionedText(v, w),
        ["license"] = (s, v, r, w) => s.License = r.PositionedText(v, w),
        ["env"] = (s, v, r, w) => s.Env = r.TextMap(v, w),
        ["labels"] = (s, v, r, w) => s.Labels = r.TextMap(v, w),
        ["sysctls"] = (s, v, r, w) => s.Sysctls = r.TextMap(v, w),
        ["binds"] = (s, v, r, w) => s.Binds = r.TextList(v, w),
        ["env-files"] = (s, v, r, w) => s.EnvFiles = r.TextList(v, w),
        ["exec"] = (s, v, r, w) => s.Exec = r.TextList(v, w),
        ["cap-add"] = (s, v, r, w) => s.CapAdd = r.TextList(v, w),
        ["wait-for"] = (s, v, r, w) => s.WaitFor = r.TextList(v, w),
        ["aliases"] = (s, v, r, w) => s.Aliases = r.TextList(v, w),
        ["stages"] = ReadStages,
        ["healthcheck"] = ReadHealthcheck,
        ["dns"] = ReadDns,
    };

    public static NodeFields Containerlab { get; } = new(WithUnsupported(new(Shared(), StringComparer.Ordinal)
    {
        ["kind"] = (s, v, r, w) => s.Kind = r.PositionedText(v, w),
        ["type"] = (s, v, r, w) => s.Variant = r.PositionedText(v, w),
        ["startup-config"] = (s, v, r, w) =>
        {
            s.StartupConfig = r.PositionedText(v, w);
            // A block scalar (`|`) is configuration text even when it holds one line.
            s.StartupConfigIsText = v is YScalar { Style: YScalarStyle.Block };
        },
        ["ports"] = (s, v, r, w) => s.Ports = r.TextList(v, w),
        ["config"] = ReadClabConfig,
    }), new(StringComparer.Ordinal)
    {
        ["device"] = "kind", ["variant"] = "type", ["config-file"] = "startup-config", ["cloud-init"] = "startup-config",
        ["expose"] = "ports", ["vars"] = "config.vars",
    });

    public static NodeFields Ltb { get; } = new(WithUnsupported(new(Shared(), StringComparer.Ordinal)
    {
        ["device"] = (s, v, r, w) => s.Kind = r.PositionedText(v, w),
        ["version"] = (s, v, r, w) => s.Version = r.PositionedText(v, w),
        ["variant"] = (s, v, r, w) => s.Variant = r.PositionedText(v, w),
        ["config"] = (s, v, r, w) =>
        {
            s.StartupConfig = r.PositionedText(v, w);
            s.StartupConfigIsText = true;
        },
        ["config-file"] = (s, v, r, w) => s.StartupConfig = r.PositionedText(v, w),
        ["cloud-init"] = (s, v, r, w) => s.CloudInit = r.PositionedText(v, w),
        ["expose"] = (s, v, r, w) => s.Ports = r.TextList(v, w),
        ["vars"] = (s, v, r, _) => s.ConfigVars = r.Plain(v) as Dictionary<string, object?>,
    }), new(StringComparer.Ordinal)
    {
        ["kind"] = "device", ["type"] = "variant", ["startup-config"] = "config (text) or config-file (a path)", ["ports"] = "expose",
    });

    public IEnumerable<string> Keys => _fields.Keys;

    /// <summary>Reads <paramref name="node"/> (a mapping of these keys) as the settings of <paramref name="where"/>.</summary>
    /// <param name="name">Where the settings are named (`routers:` of a group), for messages about them as a whole.</param>
    public NodeSpec Parse(YNode node, string where, YamlValueReader r, SourceSpan? name = null)
    {
        var spec = new NodeSpec(name ?? node.Span);
        if (node is YScalar { IsNull: true })
        {
            return spec;
        }
        if (r.Mapping(node, where) is not { } mapping)
        {
            return spec;
        }
        foreach (var entry in mapping.Entries)
        {
            var key = entry.Key.Value;
            if (UnsupportedKeys.Contains(key))
            {
                r.Diagnostics.Warning(entry.Key.Span, $"'{key}' of {where} is not supported by LTB yet; it is kept for conversion but has no effect");
            }
            if (_fields.TryGetValue(key, out var read))
            {
                read(spec, entry.Value, r, $"'{key}' of {where}");
            }
            else if (_otherFormat.TryGetValue(key, out var ours))
            {
                r.Diagnostics.Error(entry.Key.Span, $"unknown key '{key}' in {where}; this format calls it '{ours}'");
            }
            else
            {
                r.Diagnostics.Error(entry.Key.Span, YamlValueReader.UnknownKey(key, where, _fields.Keys));
            }
        }
        return spec;
    }

    private static Dictionary<string, Read> WithUnsupported(Dictionary<string, Read> fields)
    {
        foreach (var key in UnsupportedKeys)
        {
            fields[key] = (s, v, r, _) =>
            {
                s.Unsupported[key] = r.Plain(v);
                s.UnsupportedAt[key] = v.Span;
            };
        }
        return fields;
    }

    private static void ReadClabConfig(NodeSpec spec, YNode value, YamlValueReader r, string what)
    {
        if (r.Mapping(value, what) is not { } m)
        {
            return;
        }
        foreach (var entry in m.Entries)
        {
            if (entry.Key.Value == "vars")
            {
                spec.ConfigVars = r.Plain(entry.Value) as Dictionary<string, object?>;
            }
            else
            {
                r.Diagnostics.Warning(entry.Key.Span, $"'config.{entry.Key.Value}' ({what}) is not supported by LTB yet; only 'config.vars' is kept");
            }
        }
    }

    private static void ReadStages(NodeSpec spec, YNode value, YamlValueReader r, string what)
    {
        if (r.Mapping(value, what) is not { } m)
        {
            return;
        }
        spec.Stages = r.Plain(m);
        var waits = new List<Positioned<string>>();
        foreach (var stage in m.Entries)
        {
            if (stage.Value is YMapping sm && sm["wait-for"] is YSequence list)
            {
                foreach (var item in list.Items)
                {
                    // Entries are `- node: NAME` (with an optional stage) or a plain node name.
                    var nodeName = item is YMapping im && im["node"] is { } n ? r.PositionedText(n, "'node' of a wait-for entry")
                        : r.PositionedText(item, "a wait-for entry");
                    if (nodeName is { } nn)
                    {
                        waits.Add(nn);
                    }
                }
            }
        }
        spec.StagesWaitFor = waits;
    }

    private static void ReadHealthcheck(NodeSpec spec, YNode value, YamlValueReader r, string what)
    {
        if (r.Mapping(value, what) is not { } m)
        {
            return;
        }
        r.RejectUnknownKeys(m, what, ["test", "start-period", "interval", "timeout", "retries"]);
        int? Seconds(string key) => m[key] is { } v ? (int?)r.Integer(v, $"'{key}' of {what}", 0, 86400) : null;
        spec.Healthcheck = new Healthcheck(
            m["test"] is { } t ? r.TextList(t, $"'test' of {what}")?.Select(x => x.Value).ToList() ?? [] : [],
            Seconds("start-period"), Seconds("interval"), Seconds("timeout"), Seconds("retries"));
    }

    private static void ReadDns(NodeSpec spec, YNode value, YamlValueReader r, string what)
    {
        if (r.Mapping(value, what) is not { } m)
        {
            return;
        }
        r.RejectUnknownKeys(m, what, ["servers", "search", "options"]);
        List<string> List(string key) => m[key] is { } v ? r.TextList(v, $"'{key}' of {what}")?.Select(x => x.Value).ToList() ?? [] : [];
        spec.Dns = new Dns(List("servers"), List("search"), List("options"));
    }
}
