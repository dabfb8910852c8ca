namespace Ltb.Web.Components;

/// <summary>
/// A picked folder's paths ("frr01/frr01.clab.yml", "frr01/router1/frr.conf"): which is the topology (a *.clab.yml at the
/// folder's top, else the only *.yml/*.yaml there) and the other files, sent under their path inside the folder.
/// </summary>
public static class TopologyFolder
{
    public static (string? Topology, HashSet<string> Files) Split(IReadOnlyList<string> paths)
    {
        var top = paths.Where(p => Relative(p).IndexOf('/') < 0).ToList();
        var topology = top.FirstOrDefault(p => p.EndsWith(".clab.yml", StringComparison.OrdinalIgnoreCase) || p.EndsWith(".clab.yaml", StringComparison.OrdinalIgnoreCase));
        if (topology is null && top.Where(p => p.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) || p.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase)).ToList() is [var only])
        {
            topology = only;
        }
        return (topology, [.. paths.Where(p => p != topology)]);
    }

    /// <summary>The path inside the picked folder (the browser names the folder itself first).</summary>
    public static string Relative(string path) => path.IndexOf('/') is var slash and > 0 ? path[(slash + 1)..] : path;
}
