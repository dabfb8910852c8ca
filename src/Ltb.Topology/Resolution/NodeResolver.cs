using System.Globalization;
using System.Text.RegularExpressions;
using Ltb.Topology.Catalog;
using Ltb.Topology.Model;
using Ltb.Topology.Spec;
using Ltb.Topology.Validation;
using Ltb.Topology.Variables;
using Ltb.Topology.Yaml;

namespace Ltb.Topology.Resolution;

/// <summary>
/// Applies inheritance to one node: node -> group -> kind -> defaults -> catalog, the most specific level wins;
/// `env`, `labels`, `sysctls` and `config.vars` merge key by key, `binds` merge by container path, `cap-add`
/// adds to the type's capabilities; other lists are taken whole from the most specific level that has them.
/// </summary>
internal sealed partial class NodeResolver(TopologySpec spec, NodeTypeCatalog catalog, PathResolver paths, MagicVariables magic, Policy.TenantRules tenant,
    DiagnosticBag diagnostics)
{
    /// <summary>Each node's wait-for entries as written (at whichever level), for the lab-wide checks.</summary>
    public Dictionary<string, List<Positioned<string>>> WaitForWritten { get; } = new(StringComparer.Ordinal);

    public Node? Resolve(Positioned<string> name, NodeSpec nodeSpec)
    {
        if (!Names.IsSafe(name.Value))
        {
            diagnostics.Error(name.Span, $"node name '{name.Value}' {Names.SafeRule}");
        }
        NodeSpec? group = null;
        if (nodeSpec.Group is { } groupName && !spec.Groups.TryGetValue(groupName.Value, out group))
        {
            diagnostics.Error(groupName.Span, $"node '{name.Value}' refers to group '{groupName.Value}', which is not defined; defined groups: {List(spec.Groups.Keys)}");
        }
        var kindWritten = nodeSpec.Kind ?? group?.Kind ?? spec.Defaults?.Kind;
        var kindName = kindWritten?.Value ?? NodeTypeCatalog.DefaultKind;
        var type = catalog.Find(kindName);
        if (type is null)
        {
            var suggestion = Suggest.Closest(kindName, catalog.Names);
            diagnostics.Error(kindWritten?.Span ?? name.Span, $"node '{name.Value}' has unknown {KindWord} '{kindName}'" +
                (suggestion is null ? $"; known: {List(catalog.Names)}" : $"; did you mean '{suggestion}'?"));
            return null;
        }
        if (type.Retired)
        {
            // Labs that run keep running (they run from their plan); nothing new is built on a retired type.
            diagnostics.Error(kindWritten?.Span ?? name.Span, $"node '{name.Value}' uses {KindWord} '{type.Name}', which was retired " +
                "from the device catalog by an administrator; choose another " + KindWord);
            return null;
        }
        var kindSpec = spec.Kinds.GetValueOrDefault(type.Name) ?? spec.Kinds.GetValueOrDefault(kindName)
            ?? type.Aliases.Select(a => spec.Kinds.GetValueOrDefault(a)).FirstOrDefault(k => k is not null);
        // Most specific first.
        NodeSpec[] levels = [.. new[] { nodeSpec, group, kindSpec, spec.Defaults }.OfType<NodeSpec>()];
        var n = name.Value;
        Positioned<string>? First(Func<NodeSpec, Positioned<string>?> field) => levels.Select(field).FirstOrDefault(v => v is not null);
        List<Positioned<string>>? FirstList(Func<NodeSpec, List<Positioned<string>>?> field) => levels.Select(field).FirstOrDefault(v => v is not null);
        string? Magic(Positioned<string>? v) => v is null ? null : magic.Replace(v.Value.Value, n);

        var env = new Dictionary<string, string>(type.Env, StringComparer.Ordinal);
        var envFiles = new List<EnvFile>();
        foreach (var level in levels.Reverse())
        {
            foreach (var file in level.EnvFiles ?? [])
            {
                if (ReadEnvFile(file, n, env) is { } read)
                {
                    envFiles.Add(new EnvFile(read) { Span = file.Span });
                }
            }
        }
        Merge(env, levels, l => l.Env, n);
        var version = First(l => l.Version);
        if (version is { } v && type.Versions.Count > 0 && !type.Versions.Contains(v.Value))
        {
            diagnostics.Error(v.Span, $"{KindWord} '{type.Name}' has no version '{v.Value}' in the catalog; known versions: {string.Join(", ", type.Versions)}");
        }
        var imageWritten = First(l => l.Image);
        var image = Magic(imageWritten) ?? WithTag(type.Image, version?.Value);
        if (image is null && type.Runtime is NodeRuntime.Container or NodeRuntime.Vm)
        {
            diagnostics.Error(name.Span, $"node '{n}' has no image; kind '{type.Name}' has no default image, so give 'image:' on the node, its group, kind or defaults");
        }
        var memoryText = First(l => l.Memory);
        var startup = ResolveStartupConfig(First(l => l.StartupConfig), levels.FirstOrDefault(l => l.StartupConfig is not null)?.StartupConfigIsText ?? false, n);
        var license = First(l => l.License) is { } lic
            ? paths.Resolve(magic.Replace(lic.Value, n), lic.Span, $"license file '{lic.Value}' of node '{n}'", mustExist: true,
                "license files are not distributed with labs: put the file there or point 'license:' at it")
            : null;
        var waitFor = (FirstList(l => l.WaitFor) ?? []).Concat(levels.Select(l => l.StagesWaitFor).FirstOrDefault(v => v is not null) ?? []).ToList();
        WaitForWritten[n] = waitFor;
        var capAdd = FirstList(l => l.CapAdd) ?? [];
        // The policy's refusals for non-admins, each at the setting as written.
        tenant.Capabilities(n, type, kindWritten?.Span ?? name.Span, capAdd);
        tenant.HostSettings(n, levels);
        if (First(l => l.NetworkMode) is { } networkMode)
        {
            tenant.NetworkMode(n, networkMode);
        }
        if (imageWritten is { } iw && image is not null)
        {
            tenant.Image(n, iw, image);
        }
        return new Node
        {
            Name = n,
            NodeType = type,
            Span = name.Span,
            Version = version?.Value,
            Variant = First(l => l.Variant)?.Value,
            Group = nodeSpec.Group?.Value,
            Image = image,
            Env = env,
            Binds = ResolveBinds(levels, n),
            StartupConfig = startup,
            CloudInit = First(l => l.CloudInit)?.Value,
            Exec = FirstList(l => l.Exec)?.Select(e => magic.Replace(e.Value, n)).ToList() ?? [],
            Ports = FirstList(l => l.Ports)?.Select(p => ParsePort(p, n)).OfType<PortMapping>().ToList() ?? [],
            MgmtIpv4 = First(l => l.MgmtIpv4)?.Value,
            MgmtIpv6 = First(l => l.MgmtIpv6)?.Value,
            Labels = MergeNew(levels, l => l.Labels, n),
            Cpu = ParseCpu(First(l => l.Cpu), n) ?? type.Cpu,
            Memory = memoryText?.Value ?? (type.MemoryBytes is { } mb ? ByteSize.Format(mb) : null),
            MemoryBytes = memoryText is { } mt ? ParseMemory(mt, n) : type.MemoryBytes,
            CpuSet = First(l => l.CpuSet)?.Value,
            CapAdd = [.. type.Capabilities.Concat(capAdd.Select(c => c.Value)).Distinct(StringComparer.Ordinal)],
            Sysctls = MergeWith(type.Sysctls, levels, l => l.Sysctls, n),
            User = First(l => l.User)?.Value,
            Entrypoint = Magic(First(l => l.Entrypoint)),
            Cmd = Magic(First(l => l.Cmd)),
            NetworkMode = First(l => l.NetworkMode)?.Value,
            RestartPolicy = First(l => l.RestartPolicy)?.Value,
            WaitFor = [.. waitFor.Select(w => w.Value).Distinct(StringComparer.Ordinal)],
            Stages = levels.Select(l => l.Stages).FirstOrDefault(s => s is not null),
            Healthcheck = levels.Select(l => l.Healthcheck).FirstOrDefault(h => h is not null),
            Dns = levels.Select(l => l.Dns).FirstOrDefault(x => x is not null),
            Aliases = FirstList(l => l.Aliases)?.Select(a => a.Value).ToList() ?? [],
            License = license,
            EnvFiles = envFiles,
            ConfigVars = MergeObjects(levels.Select(l => l.ConfigVars)),
            Unsupported = MergeObjects(levels.Select(l => l.Unsupported)),
        };
    }

    /// <summary>The type's default image with the asked version as its tag (`ghcr.io/nokia/srlinux` + 24.10).</summary>
    private static string? WithTag(string? image, string? version)
    {
        if (image is null || version is null)
        {
            return image;
        }
        var colon = image.LastIndexOf(':');
        var repository = colon > image.LastIndexOf('/') ? image[..colon] : image;
        return $"{repository}:{version}";
    }

    /// <summary>"kind" in containerlab files, "device" in LTB templates.</summary>
    private string KindWord => spec.Format == TopologyFormat.Ltb ? "device" : "kind";

    internal static string List(IEnumerable<string> names)
    {
        var all = names.Order(StringComparer.Ordinal).ToList();
        return all.Count == 0 ? "(none)" : string.Join(", ", all);
    }

    private StartupConfig? ResolveStartupConfig(Positioned<string>? written, bool isText, string node)
    {
        if (written is not { } w)
        {
            return null;
        }
        // containerlab: a value spanning several lines is the configuration itself, one line is a file path.
        if (isText || w.Value.Contains('\n', StringComparison.Ordinal))
        {
            return new StartupConfig(null, w.Value) { Span = w.Span };
        }
        var path = paths.Resolve(magic.Replace(w.Value, node), w.Span, $"startup-config file '{w.Value}' of node '{node}'", mustExist: true);
        return path is null ? null : new StartupConfig(path, null) { Span = w.Span };
    }

    private List<Bind> ResolveBinds(NodeSpec[] levels, string node)
    {
        // Least specific first, so a more specific level replaces a bind with the same container path in place.
        var byTarget = new Dictionary<string, Bind>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var level in levels.Reverse())
        {
            foreach (var written in level.Binds ?? [])
            {
                if (ParseBind(written, node) is not { } bind)
                {
                    continue;
                }
                if (!byTarget.ContainsKey(bind.Target))
                {
                    order.Add(bind.Target);
                }
                byTarget[bind.Target] = bind;
            }
        }
        return [.. order.Select(t => byTarget[t])];
    }

    private Bind? ParseBind(Positioned<string> written, string node)
    {
        var value = magic.Replace(written.Value, node);
        var parts = value.Split(':');
        if (parts.Length is < 2 or > 3 || parts[0].Length == 0 || !parts[1].StartsWith('/'))
        {
            diagnostics.Error(written.Span, $"bind '{written.Value}' of node '{node}' must be SOURCE:TARGET[:MODE] with an absolute TARGET, e.g. router1/frr.conf:/etc/frr/frr.conf:ro");
            return null;
        }
        var mode = parts.Length == 3 ? parts[2] : null;
        if (mode is not null && !BindModeRegex().IsMatch(mode))
        {
            diagnostics.Error(written.Span, $"bind '{written.Value}' of node '{node}' has mode '{mode}'; use ro or rw (optionally with z, Z or a propagation such as rshared, comma-separated)");
            return null;
        }
        // Sources in the lab's working folder (`__clabNodeDir__`...) belong to LTB and are created at deploy time.
        var source = written.Value.Contains("__clab", StringComparison.Ordinal)
            ? Path.GetFullPath(Path.Combine(paths.TopologyDirectory, parts[0]))
            : paths.Resolve(parts[0], written.Span, $"bind source '{parts[0]}' of node '{node}'", mustExist: true);
        return source is null ? null : new Bind(source, parts[1], mode) { Span = written.Span };
    }

    [GeneratedRegex(@"^(ro|rw|z|Z|shared|rshared|slave|rslave|private|rprivate|nocopy)(,(ro|rw|z|Z|shared|rshared|slave|rslave|private|rprivate|nocopy))*$")]
    private static partial Regex BindModeRegex();

    /// <summary>Adds the file's variables to <paramref name="env"/>; returns its absolute path, or null when it was refused.</summary>
    private string? ReadEnvFile(Positioned<string> file, string node, Dictionary<string, string> env)
    {
        var path = paths.Resolve(magic.Replace(file.Value, node), file.Span, $"env-file '{file.Value}' of node '{node}'", mustExist: true);
        if (path is null)
        {
            return null;
        }
        try
        {
            if (new FileInfo(path).Length > 1024 * 1024)
            {
                diagnostics.Error(file.Span, $"env-file '{file.Value}' of node '{node}' is larger than 1024 KiB");
                return null;
            }
            foreach (var raw in File.ReadLines(path))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }
                var eq = line.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    env[line[..eq].Trim()] = line[(eq + 1)..].Trim();
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            diagnostics.Error(file.Span, $"env-file '{file.Value}' of node '{node}' cannot be read: {e.Message}");
            return null;
        }
        return path;
    }

    private void Merge(Dictionary<string, string> into, NodeSpec[] levels, Func<NodeSpec, List<(Positioned<string> Key, Positioned<string> Value)>?> field, string node)
    {
        foreach (var level in levels.Reverse())
        {
            foreach (var (key, value) in field(level) ?? [])
            {
                into[key.Value] = magic.Replace(value.Value, node);
            }
        }
    }

    private Dictionary<string, string> MergeNew(NodeSpec[] levels, Func<NodeSpec, List<(Positioned<string> Key, Positioned<string> Value)>?> field, string node)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        Merge(result, levels, field, node);
        return result;
    }

    private Dictionary<string, string> MergeWith(IReadOnlyDictionary<string, string> start, NodeSpec[] levels, Func<NodeSpec, List<(Positioned<string> Key, Positioned<string> Value)>?> field, string node)
    {
        var result = new Dictionary<string, string>(start, StringComparer.Ordinal);
        Merge(result, levels, field, node);
        return result;
    }

    private static Dictionary<string, object?> MergeObjects(IEnumerable<Dictionary<string, object?>?> mostSpecificFirst)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var level in mostSpecificFirst.Reverse())
        {
            foreach (var (k, v) in level ?? [])
            {
                result[k] = v;
            }
        }
        return result;
    }

    private PortMapping? ParsePort(Positioned<string> written, string node)
    {
        var m = PortRegex().Match(written.Value);
        if (m.Success && int.TryParse(m.Groups["h"].Value, CultureInfo.InvariantCulture, out var host) && int.TryParse(m.Groups["c"].Value, CultureInfo.InvariantCulture, out var container)
            && host is >= 1 and <= 65535 && container is >= 1 and <= 65535)
        {
            return tenant.Port(node, written, new PortMapping(m.Groups["ip"].Success ? m.Groups["ip"].Value : null, host, container,
                m.Groups["p"].Success ? m.Groups["p"].Value.ToLowerInvariant() : "tcp"));
        }
        diagnostics.Error(written.Span, $"port '{written.Value}' of node '{node}' must be [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp|sctp] with ports from 1 to 65535, e.g. 8080:80");
        return null;
    }

    [GeneratedRegex(@"^(?:(?<ip>[0-9.]+|\[[0-9a-fA-F:]+\]):)?(?<h>[0-9]{1,5}):(?<c>[0-9]{1,5})(?:/(?<p>tcp|udp|sctp|TCP|UDP|SCTP))?$")]
    private static partial Regex PortRegex();

    private double? ParseCpu(Positioned<string>? written, string node)
    {
        if (written is not { } w)
        {
            return null;
        }
        if (double.TryParse(w.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var cpu) && cpu is > 0 and <= 1024)
        {
            return cpu;
        }
        diagnostics.Error(w.Span, $"cpu '{w.Value}' of node '{node}' must be a number of CPUs greater than 0, e.g. 1 or 0.5");
        return null;
    }

    private long? ParseMemory(Positioned<string> written, string node)
    {
        var bytes = ByteSize.Parse(written.Value);
        if (bytes is null)
        {
            diagnostics.Error(written.Span, $"memory '{written.Value}' of node '{node}' must be a size such as 512MiB, 1Gb or 2GiB");
        }
        return bytes;
    }
}
