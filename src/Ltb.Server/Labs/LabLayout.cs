using System.Text.Json;
using Ltb.Server.Labs.Placement;

namespace Ltb.Server.Labs;

/// <summary>
/// Where the nodes of a lab run. Most labs run whole on one host (<see cref="Lab.LayoutJson"/> is null); a lab that is too
/// big for one host, or whose nodes are pinned to different hosts, spans hosts: each host runs its nodes and the links
/// between them, and links between nodes on different hosts are carried by VXLAN tunnels between the hosts.
/// </summary>
public sealed record LabLayout(IReadOnlyDictionary<string, Guid> NodeHosts)
{
    /// <summary>The hosts the lab uses, each once.</summary>
    public IReadOnlyList<Guid> Hosts => [.. NodeHosts.Values.Distinct()];

    public bool Spans => Hosts.Count > 1;

    /// <summary>
    /// This layout for the nodes of the lab reconfigured to <paramref name="demand"/>: nodes that stay keep their host,
    /// removed ones leave, and an added node runs on the host it is pinned to (by name in <paramref name="hostIds"/>), else
    /// beside its first neighbour that has a host, else on the lab's own host.
    /// </summary>
    public LabLayout Follow(LabDemand demand, Guid labHost, IReadOnlyDictionary<string, Guid> hostIds)
    {
        var placed = new Dictionary<string, Guid>(StringComparer.Ordinal);
        foreach (var node in demand.Nodes)
        {
            if (NodeHosts.TryGetValue(node.Name, out var at) || (node.PinnedHost is { } pin && hostIds.TryGetValue(pin, out at)))
            {
                placed[node.Name] = at;
            }
        }
        for (var grew = true; grew;)
        {
            grew = false;
            foreach (var (a, b) in demand.Links)
            {
                if (placed.ContainsKey(a) != placed.ContainsKey(b))
                {
                    var (from, to) = placed.ContainsKey(a) ? (a, b) : (b, a);
                    placed[to] = placed[from];
                    grew = true;
                }
            }
        }
        foreach (var node in demand.Nodes.Where(n => !placed.ContainsKey(n.Name)))
        {
            placed[node.Name] = labHost;
        }
        return new LabLayout(placed);
    }

    public string ToJson() => JsonSerializer.Serialize(this, LabTaskRunner.Json);

    /// <summary>The stored layout, or null for a lab that runs whole on its host.</summary>
    public static LabLayout? Parse(string? json) => string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize<LabLayout>(json, LabTaskRunner.Json);
}
