using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Nodes;

/// <summary>
/// Deletes again, in a node restored from a snapshot, the paths the snapshot saw deleted from its image
/// (<see cref="NodePlan.RestoreDeleted"/>). The engine's archive API can add files to a created container but not remove
/// them, so this runs once the node has started (before its exec commands): the node's own <c>rm -rf -- PATH...</c>, an
/// argument vector (no shell), in batches. The paths are checked first (absolute, no <c>.</c> or <c>..</c> segment, no
/// control characters, bounded in length and count) since an imported archive may carry them. Whatever cannot be deleted
/// (a bad path, an image without <c>rm</c>, a node that runs as a user who may not) is a warning on the deployment, never
/// its failure: the node runs with the file still there.
/// </summary>
public static class RestoredDeletions
{
    public const int MaxPaths = 10_000;
    public const int MaxPathLength = 4096;
    private const int Batch = 200;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Null when the path may be deleted; else why not.</summary>
    public static string? Problem(string path)
    {
        if (path.Length is 0 or > MaxPathLength)
        {
            return $"its length is not between 1 and {MaxPathLength}";
        }
        if (!path.StartsWith('/') || path == "/")
        {
            return "it is not an absolute path below the node's root";
        }
        if (path.Any(char.IsControl))
        {
            return "it holds control characters";
        }
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length == 0 || segments.Any(s => s is "." or ".."))
        {
            return "it has a '.' or '..' segment";
        }
        return NodeSnapshotStream.IsTransient(path) ? "it is runtime state the node recreates" : null;
    }

    public static async Task ApplyAsync(INodeDriver driver, string lab, NodePlan node, IProgress<RuntimeEvent>? progress, CancellationToken ct)
    {
        if (node.RestoreDeleted is not { Count: > 0 } deleted)
        {
            return;
        }
        var valid = new List<string>();
        foreach (var path in deleted.Take(MaxPaths))
        {
            if (Problem(path) is { } problem)
            {
                Warn(progress, lab, node.Name, $"the saved deletion of '{Cut(path)}' was not applied: {problem}");
            }
            else
            {
                valid.Add(path);
            }
        }
        if (deleted.Count > MaxPaths)
        {
            Warn(progress, lab, node.Name, $"the snapshot lists {deleted.Count} deleted paths; only the first {MaxPaths} were considered");
        }
        foreach (var chunk in valid.Chunk(Batch))
        {
            string? failure;
            try
            {
                var r = await driver.ExecAsync(lab, node.Name, ["rm", "-rf", "--", .. chunk], Timeout, 64 << 10, ct);
                failure = r.Succeeded ? null : $"rm ended with exit code {r.ExitCode}: {Cut((r.Stderr + r.Stdout).Trim())}";
            }
            catch (NodeExecException e)
            {
                failure = e.TimedOut ? $"rm did not finish within {Timeout.TotalSeconds:0} s" : $"rm could not run ({e.Cause}; an image without rm keeps them)";
            }
            if (failure is not null)
            {
                Warn(progress, lab, node.Name, $"{chunk.Length} path(s) the snapshot saw deleted may still be there ({Cut(string.Join(", ", chunk))}): {failure}");
            }
        }
        if (valid.Count > 0)
        {
            LabContext.Report(progress, lab, node.Name, $"{valid.Count} path(s) deleted as in the snapshot", RuntimeEventKind.Progress);
        }
    }

    private static void Warn(IProgress<RuntimeEvent>? progress, string lab, string node, string message) =>
        LabContext.Report(progress, lab, node, message, RuntimeEventKind.Warning);

    private static string Cut(string s) => s.Length <= 300 ? s : s[..300] + "...";
}
