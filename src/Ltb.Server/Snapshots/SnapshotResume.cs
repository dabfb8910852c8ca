using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ltb.Runtime.Plan;

namespace Ltb.Server.Snapshots;

/// <summary>
/// The management addresses a restore asks for so that VMs resumed from their RAM state (their guests wake holding the
/// address they had) keep a working one: the snapshot's management subnet and each such node's address, from its
/// <c>status.json</c>, written beside the node archives (<see cref="FileName"/>) and given to the plan as hints
/// (<see cref="MgmtNetworkPlan.PreferredIpv4Subnet"/>, <see cref="NodePlan.PreferredMgmtIpv4"/>): the host takes them
/// when they are inside its pool and free, else it allocates as for any lab (the guest then holds a stale address until
/// it is configured again; a topology that pins them keeps them always).
/// </summary>
public sealed record SnapshotResume(string? Ipv4Subnet, IReadOnlyDictionary<string, string> Nodes)
{
    public const string FileName = "resume.json";
    private const long MaxStatusBytes = 16L << 20;
    private const long MaxFileBytes = 1L << 20;

    /// <summary>Writes the hints into <paramref name="restoreFolder"/> when a node of the snapshot resumes from its RAM state.</summary>
    public static void Write(string snapshotFolder, SnapshotManifest manifest, string restoreFolder)
    {
        var resumed = manifest.Nodes.Where(n => n.Memory).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var status = new FileInfo(Path.Combine(snapshotFolder, SnapshotStore.StatusFile));
        if (resumed.Count == 0 || !status.Exists || status.Length > MaxStatusBytes)
        {
            return;
        }
        try
        {
            var json = JsonNode.Parse(File.ReadAllText(status.FullName));
            var nodes = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var node in json?["nodes"]?.AsArray() ?? [])
            {
                if (node?["name"]?.GetValue<string>() is { } name && resumed.Contains(name) && node["mgmtIpv4"]?.GetValue<string>() is { } address)
                {
                    nodes[name] = address.Split('/')[0];
                }
            }
            Directory.CreateDirectory(restoreFolder);
            File.WriteAllText(Path.Combine(restoreFolder, FileName),
                JsonSerializer.Serialize(new SnapshotResume(json?["mgmtIpv4Subnet"]?.GetValue<string>(), nodes), SnapshotStore.Json));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            // A status that does not say (an imported, hand-made snapshot): the restore allocates as for any lab.
        }
    }

    /// <summary>The plan with the hints of <paramref name="restoreFolder"/>'s <see cref="FileName"/>, if any (addresses that do not parse are left out).</summary>
    public static LabPlan Attach(LabPlan plan, string restoreFolder)
    {
        var file = new FileInfo(Path.Combine(restoreFolder, FileName));
        if (!file.Exists || file.LinkTarget is not null || file.Length > MaxFileBytes)
        {
            return plan;
        }
        SnapshotResume? resume;
        try
        {
            resume = JsonSerializer.Deserialize<SnapshotResume>(File.ReadAllText(file.FullName), SnapshotStore.Json);
        }
        catch (JsonException)
        {
            return plan;
        }
        if (resume?.Nodes is null)
        {
            return plan;
        }
        return plan with
        {
            Mgmt = plan.Mgmt.Ipv4Subnet is null && IPNetwork.TryParse(resume.Ipv4Subnet, out var subnet)
                ? plan.Mgmt with { PreferredIpv4Subnet = subnet.ToString() } : plan.Mgmt,
            Nodes = plan.Nodes.Select(n => resume.Nodes.GetValueOrDefault(n.Name) is { } a && IPAddress.TryParse(a, out var address)
                ? n with { PreferredMgmtIpv4 = address.ToString() } : n).ToList(),
        };
    }
}
