namespace Ltb.Server.Labs;

/// <summary>
/// Messages that reach users (validation and planning errors, deploy failures, task logs, lab events) never show the
/// server's folders: a path under the data folder becomes the file's name relative to the lab's topology, as the user
/// wrote it (DATA/labs/ID/files/DEPLOYMENT/conf/r1.cfg is "conf/r1.cfg", DATA/labs/ID/files/secret is "../secret").
/// Paths outside the data folder are left alone: they are what an admin's topology named.
/// </summary>
public static partial class ServerPaths
{
    /// <summary>How far up from a lab's deployment folder (DATA/labs/ID/files/DEPLOYMENT) the data folder is.</summary>
    private const int LevelsToDataRoot = 4;

    public static string Relative(string text, string topologyDirectory)
    {
        var folder = Path.GetFullPath(topologyDirectory).TrimEnd('/');
        text = Strip(text, folder);
        var up = "";
        var parent = folder;
        for (var i = 0; i < LevelsToDataRoot && Path.GetDirectoryName(parent) is { Length: > 1 } next; i++)
        {
            up += "../";
            parent = next;
            text = text.Replace(parent + "/", up, StringComparison.Ordinal);
        }
        return text.Replace(parent, up.TrimEnd('/'), StringComparison.Ordinal);
    }

    /// <summary>A lab's message with its deployment folders (any of them: a task may name the old and the new) hidden.</summary>
    public static string OfLab(string text, string dataDirectory, Guid labId)
    {
        var root = Path.GetFullPath(LabFolders.FilesRoot(dataDirectory, labId));
        foreach (var deployment in DeploymentFolder().Matches(text).Select(m => m.Value).Where(p => p.StartsWith(root + "/", StringComparison.Ordinal)).Distinct())
        {
            text = Strip(text, deployment);
        }
        // The rest as seen from a deployment folder (none of which is left in the text).
        return Relative(text, Path.Combine(root, "DEPLOYMENT"));
    }

    /// <summary>Paths in <paramref name="folder"/> become relative; the folder itself, named without a file (e.g. "cannot write to FOLDER"), is ".".</summary>
    private static string Strip(string text, string folder) =>
        text.Replace(folder + "/", "", StringComparison.Ordinal).Replace(folder, ".", StringComparison.Ordinal);

    [System.Text.RegularExpressions.GeneratedRegex("/[^\\s'\"]*/files/[0-9a-f]{32}")]
    private static partial System.Text.RegularExpressions.Regex DeploymentFolder();
}
