using Ltb.Topology.Model;
using Ltb.Topology.Validation;
using Ltb.Topology.Yaml;

namespace Ltb.Topology.Catalog;

/// <summary>Reads one node type from its YAML definition (docs/topology.md, "Device catalog"), with positioned errors.</summary>
public static class NodeTypeReader
{
    private static readonly string[] TopKeys =
    [
        "name", "aliases", "description", "vendor", "os", "versions", "tags", "runtime", "image", "disk", "interfaces",
        "credentials", "config", "cpu", "memory", "capabilities", "sysctls", "env", "console", "ready", "save-config", "running-config", "show-config", "show-version",
        "ansible-network-os", "ansible-connection", "console-port", "exec", "display", "snapshot-guest",
    ];

    public static NodeType? Read(string text, string file, DiagnosticBag diagnostics)
    {
        var before = diagnostics.HasErrors;
        if (YamlReader.Read(text, file, diagnostics) is not { } root)
        {
            return null;
        }
        var r = new YamlValueReader(diagnostics);
        if (r.Mapping(root, "a node type") is not { } m)
        {
            return null;
        }
        r.RejectUnknownKeys(m, "a node type", TopKeys);
        var name = m["name"] is { } n ? r.Text(n, "'name'") : null;
        if (name is null)
        {
            diagnostics.Error(m.Span, "a node type needs a 'name'");
            return null;
        }
        if (!Names.IsSafe(name))
        {
            diagnostics.Error(m["name"]!.Span, $"node type name '{name}' {Names.SafeRule}");
        }
        var interfaces = m["interfaces"] is { } i ? ReadInterfaces(r, i) : null;
        if (interfaces is null)
        {
            diagnostics.Error(m.Span, $"node type '{name}' needs 'interfaces' (management interface and name patterns)");
            return null;
        }
        var type = new NodeType
        {
            Name = name,
            Source = file,
            Interfaces = interfaces,
            Aliases = List(r, m, "aliases"),
            Description = Text(r, m, "description") ?? "",
            Vendor = Text(r, m, "vendor") ?? "",
            Os = Text(r, m, "os") ?? "",
            Versions = List(r, m, "versions"),
            Tags = List(r, m, "tags"),
            Runtime = m["runtime"] is { } rt ? Enum<NodeRuntime>(r, rt, "'runtime'") ?? NodeRuntime.Container : NodeRuntime.Container,
            Image = Text(r, m, "image"),
            Disk = Text(r, m, "disk"),
            Credentials = m["credentials"] is { } c ? ReadCredentials(r, c) : null,
            Config = m["config"] is { } cfg ? ReadConfig(r, cfg) : new ConfigMethod(ConfigInjection.None),
            Cpu = m["cpu"] is { } cpu ? r.Number(cpu, "'cpu'", 0.01, 1024) : null,
            MemoryBytes = m["memory"] is { } mem ? Memory(r, mem) : null,
            Capabilities = List(r, m, "capabilities"),
            Sysctls = Map(r, m, "sysctls"),
            Env = Map(r, m, "env"),
            Console = m["console"] is { } con ? Enum<ConsoleType>(r, con, "'console'") ?? ConsoleType.Shell : ConsoleType.Shell,
            Ready = m["ready"] is { } ready ? ReadReady(r, ready) : null,
            SaveConfigCommand = Text(r, m, "save-config"),
            RunningConfigCommand = Text(r, m, "running-config"),
            ShowConfigCommand = Text(r, m, "show-config"),
            ShowVersionCommand = Text(r, m, "show-version"),
            AnsibleNetworkOs = Text(r, m, "ansible-network-os"),
            AnsibleConnection = Text(r, m, "ansible-connection"),
            ConsolePort = m["console-port"] is { } port ? (int?)r.Integer(port, "'console-port'", 1, 65535) : null,
            Exec = m["exec"] is { } exec ? ReadExec(r, exec) : null,
            Display = m["display"] is { } display ? Enum<DisplayType>(r, display, "'display'") ?? DisplayType.None : DisplayType.None,
            SnapshotGuest = m["snapshot-guest"] is { } sg ? Enum<SnapshotGuest>(r, sg, "'snapshot-guest'") ?? SnapshotGuest.Pause : SnapshotGuest.Pause,
        };
        if (type.Display != DisplayType.None && type.Runtime != NodeRuntime.Vm)
        {
            diagnostics.Error(m["display"]!.Span, $"node type '{name}': 'display' is for VM types (runtime: vm); remove it");
        }
        if (m["snapshot-guest"] is { } guest && type.Runtime != NodeRuntime.Vm)
        {
            diagnostics.Error(guest.Span, $"node type '{name}': 'snapshot-guest' is for VM types (runtime: vm); remove it");
        }
        return diagnostics.HasErrors && !before ? null : type;
    }

    private static InterfaceNaming? ReadInterfaces(YamlValueReader r, YNode node)
    {
        if (r.Mapping(node, "'interfaces'") is not { } m)
        {
            return null;
        }
        r.RejectUnknownKeys(m, "'interfaces'", ["management", "patterns"]);
        var patterns = new List<InterfacePattern>();
        if (m["patterns"] is YSequence seq)
        {
            foreach (var item in seq.Items)
            {
                if (r.Mapping(item, "an interface pattern") is not { } p)
                {
                    continue;
                }
                r.RejectUnknownKeys(p, "an interface pattern", ["name", "linux"]);
                var name = Text(r, p, "name");
                var linux = Text(r, p, "linux") ?? name;
                if (name is null || linux is null)
                {
                    r.Diagnostics.Error(p.Span, "an interface pattern needs 'name' (and 'linux' when the Linux name differs)");
                    continue;
                }
                patterns.Add(new InterfacePattern(name, linux));
            }
        }
        else
        {
            r.Diagnostics.Error(m.Span, "'interfaces' needs 'patterns', a list of {name, linux}");
        }
        return new InterfaceNaming(Text(r, m, "management") ?? "eth0", patterns);
    }

    private static Credentials? ReadCredentials(YamlValueReader r, YNode node) =>
        r.Mapping(node, "'credentials'") is { } m && Text(r, m, "username") is { } u
            ? new Credentials(u, Text(r, m, "password") ?? "")
            : null;

    private static ConfigMethod ReadConfig(YamlValueReader r, YNode node)
    {
        if (r.Mapping(node, "'config'") is not { } m)
        {
            return new ConfigMethod(ConfigInjection.None);
        }
        r.RejectUnknownKeys(m, "'config'", ["method", "path", "env", "apply"]);
        var method = m["method"] is { } mm ? Enum<ConfigInjection>(r, mm, "'config.method'") ?? ConfigInjection.None : ConfigInjection.None;
        return new ConfigMethod(method, Text(r, m, "path"), Text(r, m, "env"), Text(r, m, "apply"));
    }

    private static GuestExec? ReadExec(YamlValueReader r, YNode node)
    {
        if (r.Mapping(node, "'exec'") is not { } m)
        {
            return null;
        }
        r.RejectUnknownKeys(m, "'exec'", ["method", "user", "port"]);
        var method = m["method"] is { } mm ? Enum<GuestExecMethod>(r, mm, "'exec.method'") : null;
        var user = Text(r, m, "user") ?? "root";
        if (!GuestExec.IsValidUser(user))
        {
            r.Diagnostics.Error(m.Span, $"'exec.user' must be a Unix user name (lower-case letters, digits, '_' and '-'), not '{user}'");
        }
        var port = m["port"] is { } p ? r.Integer(p, "'exec.port'", 1, 65535) : null;
        return method is { } chosen ? new GuestExec(chosen, user, (int?)port ?? 22) : null;
    }

    private static ReadinessCheck? ReadReady(YamlValueReader r, YNode node)
    {
        if (r.Mapping(node, "'ready'") is not { } m)
        {
            return null;
        }
        r.RejectUnknownKeys(m, "'ready'", ["log", "command", "port", "timeout"]);
        var timeout = m["timeout"] is { } t ? r.Integer(t, "'ready.timeout'", 1, 86400) ?? 300 : 300;
        var port = m["port"] is { } p ? r.Integer(p, "'ready.port'", 1, 65535) : null;
        return new ReadinessCheck(Text(r, m, "log"), Text(r, m, "command"), (int)timeout) { Port = (int?)port };
    }

    private static long? Memory(YamlValueReader r, YNode node)
    {
        var text = r.Text(node, "'memory'");
        if (text is null)
        {
            return null;
        }
        var bytes = ByteSize.Parse(text);
        if (bytes is null)
        {
            r.Diagnostics.Error(node.Span, $"'memory' must be a size such as 512MiB or 2GiB, not '{text}'");
        }
        return bytes;
    }

    private static T? Enum<T>(YamlValueReader r, YNode node, string what) where T : struct, Enum
    {
        var text = r.Text(node, what);
        if (text is null)
        {
            return null;
        }
        var normalized = text.Replace("-", "", StringComparison.Ordinal);
        if (System.Enum.TryParse<T>(normalized, ignoreCase: true, out var value))
        {
            return value;
        }
        r.Diagnostics.Error(node.Span, $"{what} must be one of {string.Join(", ", System.Enum.GetNames<T>().Select(x => x.ToLowerInvariant()))}, not '{text}'");
        return null;
    }

    private static string? Text(YamlValueReader r, YMapping m, string key) => m[key] is { } v ? r.Text(v, $"'{key}'") : null;

    private static List<string> List(YamlValueReader r, YMapping m, string key) =>
        m[key] is { } v ? r.TextList(v, $"'{key}'")?.Select(x => x.Value).ToList() ?? [] : [];

    private static Dictionary<string, string> Map(YamlValueReader r, YMapping m, string key) =>
        m[key] is { } v
            ? r.TextMap(v, $"'{key}'")?.ToDictionary(x => x.Key.Value, x => x.Value.Value, StringComparer.Ordinal) ?? []
            : [];
}
