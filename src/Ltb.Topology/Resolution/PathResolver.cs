using Ltb.Topology.Model;
using Ltb.Topology.Validation;

namespace Ltb.Topology.Resolution;

/// <summary>
/// Makes paths written in a topology absolute and enforces who may use which: relative paths resolve against the
/// topology's folder and must stay inside it unless the caller is trusted; absolute and `~` paths name host files,
/// an admin-only feature. Files inside the topology's folder travel with the lab, so they must exist now; host paths
/// name files on the lab host, which may not be this machine, so they are checked when the lab is deployed.
/// </summary>
public sealed class PathResolver(string topologyDirectory, bool trusted, string? home, DiagnosticBag diagnostics)
{
    /// <summary>
    /// A path written once at the defaults, kind or group level is resolved for every node that inherits it; it is
    /// checked (and a problem reported) once.
    /// </summary>
    private readonly Dictionary<(string Written, SourceSpan Span), string?> _resolved = [];

    public string TopologyDirectory { get; } = topologyDirectory;

    /// <summary>The absolute path, or null after reporting why the path cannot be used.</summary>
    /// <param name="what">How the message names the path: "bind source 'x' of node 'r1'".</param>
    /// <param name="mustExist">Report a missing file inside the topology's folder.</param>
    /// <param name="missingAdvice">Appended to the "does not exist" message.</param>
    public string? Resolve(string written, SourceSpan span, string what, bool mustExist, string? missingAdvice = null)
    {
        if (!_resolved.TryGetValue((written, span), out var result))
        {
            result = Check(written, span, what, mustExist, missingAdvice);
            _resolved[(written, span)] = result;
        }
        return result;
    }

    private string? Check(string written, SourceSpan span, string what, bool mustExist, string? missingAdvice)
    {
        var isHostPath = Path.IsPathRooted(written) || written == "~" || written.StartsWith("~/", StringComparison.Ordinal);
        string full;
        if (written == "~" || written.StartsWith("~/", StringComparison.Ordinal))
        {
            full = Path.GetFullPath(Path.Combine(home ?? "/root", written.Length > 2 ? written[2..] : ""));
        }
        else
        {
            full = Path.GetFullPath(Path.Combine(TopologyDirectory, written));
        }
        var inside = IsInside(full);
        if (!inside && !trusted)
        {
            diagnostics.Error(span, isHostPath
                ? $"{what} is a host path, which needs an administrator; use a file in the topology's folder (its path relative to the topology file)"
                : $"{what} escapes the topology's folder, which needs an administrator; use a path inside it (relative to the topology file)");
            return null;
        }
        if (inside && !trusted && LinkOnTheWay(full) is { } link)
        {
            diagnostics.Error(span, $"{what} goes through the symbolic link '{link}'; links in a lab's folder are not followed " +
                "(only administrators may use files outside it): put the file itself there");
            return null;
        }
        if (mustExist && inside && !File.Exists(full) && !Directory.Exists(full))
        {
            diagnostics.Error(span, $"{what} does not exist (looked for {full}){(missingAdvice is null ? "" : "; " + missingAdvice)}");
            return null;
        }
        return full;
    }

    /// <summary>
    /// The first part of <paramref name="full"/> below the topology's folder that is a symbolic link (looked at itself,
    /// lstat), as a relative path; null when there is none. The check by name above cannot see where a link leads.
    /// </summary>
    private string? LinkOnTheWay(string full)
    {
        var current = TopologyDirectory;
        foreach (var part in Path.GetRelativePath(TopologyDirectory, full).Split(Path.DirectorySeparatorChar))
        {
            if (part is "." or "")
            {
                continue;
            }
            current = Path.Combine(current, part);
            var entry = new FileInfo(current);
            if (entry.LinkTarget is not null)
            {
                return Path.GetRelativePath(TopologyDirectory, current);
            }
            if (!entry.Exists && !Directory.Exists(current))
            {
                return null;
            }
        }
        return null;
    }

    private bool IsInside(string full)
    {
        var root = TopologyDirectory.EndsWith(Path.DirectorySeparatorChar) ? TopologyDirectory : TopologyDirectory + Path.DirectorySeparatorChar;
        return full == TopologyDirectory || full.StartsWith(root, StringComparison.Ordinal);
    }
}
