using System.Text.Json;
using Ltb.Runtime.Status;
using Ltb.Server.Api;
using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Labs;

/// <summary>Turns the runtime's status and the store's rows into the API's documents (and the stored snapshot).</summary>
public static class LabViews
{
    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    public static string State(LabLifecycle s) => s.ToString().ToLowerInvariant();

    /// <summary>The nodes and links of a status, with the kinds the store knows (the host does not).</summary>
    public static LabSnapshot Snapshot(LabStatus status, IReadOnlyDictionary<string, string> kinds, DateTimeOffset? observedAt = null) => new(
        status.Nodes.Select(n => new LabNodeDto(n.Name, kinds.GetValueOrDefault(n.Name, ""), n.Image, n.State.ToString().ToLowerInvariant(),
            n.MgmtIpv4, n.MgmtIpv6, n.ContainerId, n.ContainerName,
            n.Interfaces.Select(i => new LabInterfaceDto(i.Name, i.Mac, i.Peer)).ToList(), n.Error,
            (n.Ports ?? []).Select(p => new LabPortDto(p.HostIp, p.HostPort, p.NodePort, p.Protocol)).ToList())).ToList(),
        status.Links.Select(l => new LabLinkDto(l.A, l.B, l.Up switch { true => "up", false => "down", null => "unknown" },
            l.Type.ToString().ToLowerInvariant(), l.Key)).ToList(),
        observedAt)
    {
        Mirrors = status.Mirrors.Select(m => new LabMirrorDto(m.Name, m.Node, m.Interface)).ToList(),
    };

    public static IReadOnlyDictionary<string, string> Kinds(Lab lab) =>
        JsonSerializer.Deserialize<Dictionary<string, string>>(lab.NodeKindsJson, Json) ?? [];

    public static IReadOnlyDictionary<string, string> Groups(Lab lab) =>
        JsonSerializer.Deserialize<Dictionary<string, string>>(lab.NodeGroupsJson, Json) ?? [];

    public static string Serialize(LabSnapshot snapshot) => JsonSerializer.Serialize(snapshot, Json);

    public static LabSnapshot Stored(Lab lab) =>
        lab.StatusJson is null ? LabSnapshot.Empty : JsonSerializer.Deserialize<LabSnapshot>(lab.StatusJson, Json) ?? LabSnapshot.Empty;

    /// <param name="hosts">The hosts by id (<see cref="HostsAsync"/>), for the lab's host name and state.</param>
    public static LabDto ToDto(Lab lab, string owner, LabSnapshot snapshot, IReadOnlyDictionary<Guid, LabHost> hosts,
        IReadOnlyList<LabEventDto>? events = null)
    {
        var host = hosts.GetValueOrDefault(lab.HostId);
        var layout = LabLayout.Parse(lab.LayoutJson);
        var used = layout is { Spans: true }
            ? layout.NodeHosts.GroupBy(n => n.Value).OrderByDescending(g => g.Count()).ThenBy(g => hosts.GetValueOrDefault(g.Key)?.Name, StringComparer.Ordinal)
                .Select(g => new LabHostRefDto(hosts.GetValueOrDefault(g.Key)?.Name ?? g.Key.ToString(),
                    hosts.GetValueOrDefault(g.Key)?.State.ToString().ToLowerInvariant() ?? "unknown", g.Count()))
                .ToList()
            : null;
        return new(lab.Id, lab.Name, State(lab.State), owner, lab.GroupId, lab.RuntimeName, lab.SourceFileName, lab.Error,
            lab.CreatedAt, lab.UpdatedAt, snapshot.Nodes, snapshot.Links, events, lab.Version, snapshot.ObservedAt,
            lab.TemplateId is { } template ? new LabTemplateRefDto(template, lab.TemplateVersion ?? 0) : null, host?.Name, host?.State.ToString().ToLowerInvariant(), lab.PlacementReason, used)
        {
            Mirrors = snapshot.Mirrors,
        };
    }

    /// <summary>Every host by id: a short list, read once per answer that shows labs.</summary>
    public static async Task<IReadOnlyDictionary<Guid, LabHost>> HostsAsync(LtbDbContext db, CancellationToken ct) =>
        await db.LabHosts.AsNoTracking().ToDictionaryAsync(h => h.Id, ct);

    public static LabTaskDto ToDto(LabTask t) => new(t.Id, t.LabId, t.Kind.ToString().ToLowerInvariant(),
        t.State.ToString().ToLowerInvariant(), t.Progress, t.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries), t.Error,
        t.CreatedAt, t.StartedAt, t.FinishedAt, t.Attempts);

    public static LabEventDto ToDto(LabEvent e) => new(e.At, e.Level.ToString().ToLowerInvariant(), e.Node, e.Message);
}
