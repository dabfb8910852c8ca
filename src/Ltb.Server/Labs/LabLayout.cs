using System.Text.Json;

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

    public string ToJson() => JsonSerializer.Serialize(this, LabTaskRunner.Json);

    /// <summary>The stored layout, or null for a lab that runs whole on its host.</summary>
    public static LabLayout? Parse(string? json) => string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize<LabLayout>(json, LabTaskRunner.Json);
}
