using Ltb.Runtime.Plan;
using Ltb.Runtime.Planning;
using Ltb.Topology;
using Microsoft.AspNetCore.Http;

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

    public static string FilesDirectory(string dataDirectory, Guid labId) => Path.Combine(dataDirectory, "labs", labId.ToString("N"), "files");

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

    /// <summary>
    /// Loads the stored topology (admins are trusted with host paths) and plans it under the runtime name. Diagnostics
    /// read "FILE:LINE:COL: error: message" with the path as the user uploaded it. Variables come from an empty
    /// environment: the server's own environment is not the user's to read.
    /// </summary>
    /// <summary>The names users give the link backends (API field `linkBackend`, CLI `--link-backend`).</summary>
    public static readonly IReadOnlyDictionary<string, LinkBackend> LinkBackends = new Dictionary<string, LinkBackend>(StringComparer.Ordinal)
    {
        ["veth"] = LinkBackend.Veth,
        ["linux-bridge"] = LinkBackend.LinuxBridge,
        ["ovs"] = LinkBackend.Ovs,
    };

    public static LoadedSource Load(string directory, string fileName, string? runtimeName, bool trusted, LinkBackend backend = LinkBackend.Veth)
    {
        var path = Path.Combine(directory, fileName);
        var text = File.ReadAllText(path);
        var result = TopologyLoader.LoadFile(path, new LoadOptions { Trusted = trusted, Environment = new Dictionary<string, string>() });
        var prefix = directory.TrimEnd('/') + "/";
        var errors = result.Diagnostics.Where(d => d.IsError).Select(d => d.ToString().Replace(prefix, "", StringComparison.Ordinal)).ToList();
        var format = result.Lab?.Format.ToString().ToLowerInvariant() ?? "";
        if (result.ValidLab is not { } lab)
        {
            return new LoadedSource("", format, text, null, new Dictionary<string, string>(), errors);
        }
        var kinds = lab.Nodes.ToDictionary(n => n.Name, n => n.Kind, StringComparer.Ordinal);
        if (runtimeName is null)
        {
            return new LoadedSource(lab.Name, format, text, null, kinds, []);
        }
        var planned = LabPlanner.Plan(lab, new PlanningOptions { LabName = runtimeName, Trusted = trusted, LinkBackend = backend });
        return new LoadedSource(lab.Name, format, text, planned.Plan, kinds, planned.Errors.Select(e => $"{fileName}: error: {e}").ToList());
    }
}
