using System.Text.Json;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Planning;
using Ltb.Topology;
using Ltb.Topology.Catalog;
using Ltb.Topology.Model;
using Ltb.Topology.Policy;
using Ltb.Topology.Validation;

namespace Ltb.Server.Labs;

/// <summary>The outcome of turning an upload into a plan: the plan and node kinds, or every problem found (one string each).</summary>
public sealed record LoadedSource(string Name, string Format, string Text, LabPlan? Plan, IReadOnlyDictionary<string, string> Kinds,
    IReadOnlyList<string> Errors);

/// <summary>
/// A lab's source on the server: the topology file and the files it references (binds, startup configs, env files,
/// licenses), uploaded with paths relative to the topology's folder and stored under DATA/labs/ID/files. The topology
/// is loaded there, so relative references resolve exactly as on the user's machine.
/// </summary>
public static class LabSources
{
    public const int MaxFiles = 500;
    public const long MaxFileBytes = 16L << 20;
    public const long MaxTotalBytes = 64L << 20;
    public const long MaxTopologyBytes = 1L << 20;

    /// <summary>Null when the relative path is acceptable; else why not. Nothing may land outside the lab's folder.</summary>
    public static string? CheckPath(string path)
    {
        if (string.IsNullOrWhiteSpace(path) || path.Length > 1024)
        {
            return "a file needs a relative path of at most 1024 characters";
        }
        if (path.StartsWith('/') || path.Contains('\\', StringComparison.Ordinal) || path.Contains('\0', StringComparison.Ordinal))
        {
            return $"'{path}': only relative paths with '/' are accepted";
        }
        if (path.Split('/').Any(p => p is "" or "." or ".."))
        {
            return $"'{path}': '..', '.' and empty parts are not accepted";
        }
        return null;
    }

    /// <summary>Checks every upload first (paths, sizes, count), then writes them; null when stored, else the problem.</summary>
    public static async Task<string?> StoreAsync(string directory, IFormFile topology, IReadOnlyList<IFormFile> files, CancellationToken ct)
    {
        if (topology.Length > MaxTopologyBytes)
        {
            return $"the topology file is larger than {MaxTopologyBytes >> 20} MiB";
        }
        if (files.Count > MaxFiles)
        {
            return $"at most {MaxFiles} files can be uploaded with a topology";
        }
        if (files.Sum(f => f.Length) > MaxTotalBytes)
        {
            return $"the files of a lab may take at most {MaxTotalBytes >> 20} MiB together";
        }
        var all = files.Prepend(topology).ToList();
        foreach (var f in all)
        {
            if (CheckPath(f.FileName) is { } error)
            {
                return error;
            }
            if (f.Length > MaxFileBytes)
            {
                return $"'{f.FileName}' is larger than {MaxFileBytes >> 20} MiB";
            }
        }
        if (topology.FileName.Contains('/', StringComparison.Ordinal))
        {
            return "the topology file is named without a folder (the other files' paths are relative to it)";
        }
        Directory.CreateDirectory(directory);
        var root = Path.GetFullPath(directory) + Path.DirectorySeparatorChar;
        foreach (var f in all)
        {
            var target = Path.GetFullPath(Path.Combine(root, f.FileName));
            if (!target.StartsWith(root, StringComparison.Ordinal))
            {
                return $"'{f.FileName}' would be stored outside the lab's folder";
            }
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            await using var output = new FileStream(target, FileMode.Create, FileAccess.Write);
            await f.CopyToAsync(output, ct);
        }
        return null;
    }

    /// <summary>The names users give the link backends (API field `linkBackend`, CLI `--link-backend`).</summary>
    public static readonly IReadOnlyDictionary<string, LinkBackend> LinkBackends = new Dictionary<string, LinkBackend>(StringComparer.Ordinal)
    {
        ["veth"] = LinkBackend.Veth,
        ["linux-bridge"] = LinkBackend.LinuxBridge,
        ["ovs"] = LinkBackend.Ovs,
    };

    /// <summary>
    /// Loads the topology stored in <paramref name="directory"/> (once; plan it with <see cref="Plan"/>) as
    /// <paramref name="options"/> say: the caller's trust, the policy, the local images and the catalog
    /// (<see cref="Policy.PolicyStore.LoadOptionsAsync"/>). Variables come from an empty environment: the server's own
    /// environment is not the user's to read.
    /// </summary>
    public static LoadedTopology LoadTopology(string directory, string fileName, LoadOptions options)
    {
        var path = Path.Combine(directory, fileName);
        var source = File.ReadAllBytes(path);
        var result = TopologyLoader.LoadFile(path, options with { Environment = new Dictionary<string, string>() });
        return new LoadedTopology(directory, fileName, source, result);
    }

    /// <summary>Plans a loaded topology for one host under the lab's runtime name.</summary>
    public static LoadedSource Plan(LoadedTopology topology, string runtimeName, bool trusted, LinkBackend backend, TenantPolicy policy)
    {
        var lab = topology.Lab ?? throw new InvalidOperationException("only a topology without errors is planned");
        var planned = LabPlanner.Plan(lab, new PlanningOptions { LabName = runtimeName, Trusted = trusted, LinkBackend = backend, Policy = policy });
        return new LoadedSource(lab.Name, topology.Format, topology.Text, planned.Plan, topology.Kinds,
            planned.Errors.Select(e => topology.Relative($"{topology.FileName}: error: {e}")).ToList());
    }

    /// <summary>
    /// The plan of a topology loaded in <paramref name="from"/> for files that now live, identical, in <paramref name="to"/>
    /// (an upload validated in its staging folder, then applied to an existing lab whose running nodes keep their bind
    /// mounts). Every host path of the plan (binds, startup configs, labels naming the lab folder) moves with the folder.
    /// </summary>
    public static LabPlan Relocate(LabPlan plan, string from, string to) => Relocate<LabPlan>(plan, from, to);

    /// <summary>One node's plan with its host paths moved the same way (a reconfigured lab's unchanged node).</summary>
    public static NodePlan Relocate(NodePlan node, string from, string to) => Relocate<NodePlan>(node, from, to);

    private static T Relocate<T>(T value, string from, string to)
    {
        static string Encoded(string path) => JsonSerializer.Serialize(path.TrimEnd('/') + "/")[1..^1];
        var json = JsonSerializer.Serialize(value, LabTaskRunner.Json).Replace(Encoded(from), Encoded(to), StringComparison.Ordinal);
        return JsonSerializer.Deserialize<T>(json, LabTaskRunner.Json)!;
    }
}

/// <summary>A topology loaded from its folder on the server; file names in diagnostics and the model are relative to it.</summary>
public sealed record LoadedTopology(string Directory, string FileName, byte[] Source, LoadResult Result)
{
    public Lab? Lab => Result.ValidLab;

    /// <summary>The text as the loader read it (a byte order mark dropped); <see cref="Source"/> is the file byte for byte.</summary>
    public string Text => new StreamReader(new MemoryStream(Source), System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true).ReadToEnd();

    public string Format => Result.Lab?.Format.ToString().ToLowerInvariant() ?? "";

    public IReadOnlyDictionary<string, string> Kinds =>
        Lab?.Nodes.ToDictionary(n => n.Name, n => n.Kind, StringComparer.Ordinal) ?? new Dictionary<string, string>();

    public IReadOnlyDictionary<string, string> Groups =>
        Lab?.Nodes.Where(n => n.Group is not null).ToDictionary(n => n.Name, n => n.Group!, StringComparer.Ordinal) ?? new Dictionary<string, string>();

    /// <summary>Every diagnostic, with the path as the user uploaded it.</summary>
    public IReadOnlyList<Diagnostic> Diagnostics =>
        [.. Result.Diagnostics.Select(d => d with { Span = d.Span with { File = Relative(d.Span.File) }, Message = Relative(d.Message) })];

    public IReadOnlyList<string> Errors => [.. Diagnostics.Where(d => d.IsError).Select(d => d.ToString())];

    /// <summary>The resolved model as JSON, paths relative to the folder (so it does not depend on where it was loaded).</summary>
    public string ModelJson => Lab is null ? "{}" : Relative(LabJson.ToJson(Lab));

    /// <summary>Paths under the lab's folder relative to it, and no other folder of the server's (<see cref="ServerPaths"/>).</summary>
    public string Relative(string text) => ServerPaths.Relative(text, Directory);
}
