using System.Text.RegularExpressions;
using Ltb.Runtime.Links.Backends;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Nodes.Vm;

namespace Ltb.Runtime.Labs;

/// <summary>What one lab holds on this host: each object as "KIND NAME", and the lab's pinned namespaces.</summary>
public sealed record HostLab(string Lab, IReadOnlyList<string> Objects, IReadOnlyList<string> Namespaces);

/// <summary>
/// Every lab on this host, found from what LTB marks its objects with (the same marks destroy works from): node labels,
/// the management networks' label, the <c>ltb/LAB/</c> alias of host interfaces (veths, bridges, VXLAN devices), the
/// OVS bridges' external id, the lab folders of the state directory, the pinned namespaces <c>ltb-LAB-NODE</c>, and
/// LTB's QEMU processes whose node folder is gone (<see cref="QemuOrphans"/>).
/// `ltb host prune` lists them and removes the labs no controller knows any more.
/// </summary>
internal sealed partial class HostLeftovers(LabContext x, LabDestruction destroy)
{
    public async Task<IReadOnlyList<HostLab>> SurveyAsync(CancellationToken ct)
    {
        var objects = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Add(string lab, string what)
        {
            if (lab.Length > 0)
            {
                (objects.TryGetValue(lab, out var list) ? list : objects[lab] = []).Add(what);
            }
        }
        foreach (var lab in x.Store.Labs())
        {
            Add(lab, $"folder {x.Store.LabDirectory(lab)}");
        }
        foreach (var d in x.Drivers.All)
        {
            foreach (var lab in await d.ListLabsAsync(ct))
            {
                foreach (var node in await d.ListAsync(lab, ct))
                {
                    Add(lab, $"node {node.Name ?? node.Id} ({d.GetType().Name.Replace("Driver", "", StringComparison.Ordinal).ToLowerInvariant()} {node.Id[..Math.Min(12, node.Id.Length)]})");
                }
            }
        }
        foreach (var orphan in QemuOrphans.Find())
        {
            Add(orphan.Lab, $"qemu pid {orphan.Pid} (node {orphan.Node}, its folder is gone)");
        }
        foreach (var lab in await x.Mgmt.ListLabNamesAsync(ct))
        {
            foreach (var n in await x.Mgmt.ListAsync(lab, ct))
            {
                Add(lab, $"network {n.Name}");
            }
        }
        foreach (var link in await x.Net.ListLinksAsync(null, ct))
        {
            if (link.Alias is { } alias && alias.StartsWith("ltb/", StringComparison.Ordinal) && alias.Split('/') is [_, var lab, ..])
            {
                Add(lab, $"interface {link.Name} ({link.Kind ?? "link"}, alias {alias})");
            }
        }
        if (await x.Net.OvsAvailableAsync(ct))
        {
            var rows = await x.Net.OvsVsctlAsync([["--format=csv", "--data=bare", "--no-headings", "--columns=name,external_ids", "list", "bridge"]], ct);
            foreach (var row in rows.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (row.Split(',', 2) is [var bridge, var ids] && OvsLab().Match(ids) is { Success: true } m)
                {
                    Add(m.Groups[1].Value, $"ovs-bridge {bridge}");
                }
            }
        }
        // A namespace ltb-LAB-NODE belongs to the longest lab name that prefixes it (lab "a" and lab "a-b" both prefix
        // "ltb-a-b-r1"): namespaces whose lab left no other mark are not attributed to a lab, so never removed.
        var labs = objects.Keys.OrderByDescending(l => l.Length).ToList();
        var namespaces = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var ns in x.Net.ListNamespaces().Where(n => n.StartsWith("ltb-", StringComparison.Ordinal)))
        {
            if (labs.FirstOrDefault(l => ns.StartsWith($"ltb-{l}-", StringComparison.Ordinal)) is { } owner)
            {
                (namespaces.TryGetValue(owner, out var list) ? list : namespaces[owner] = []).Add(ns);
                objects[owner].Add($"namespace {ns}");
            }
        }
        return objects.OrderBy(o => o.Key, StringComparer.Ordinal)
            .Select(o => new HostLab(o.Key, o.Value, namespaces.GetValueOrDefault(o.Key) ?? [])).ToList();
    }

    /// <summary>Removes everything of the lab (what destroy removes, and namespaces of nodes destroy no longer knows of).</summary>
    public async Task PruneAsync(HostLab lab, CancellationToken ct)
    {
        await destroy.DestroyAsync(lab.Lab, null, ct);
        foreach (var orphan in QemuOrphans.Find().Where(o => o.Lab == lab.Lab))
        {
            await QemuOrphans.EndAsync(orphan, ct);
        }
        var left = x.Net.ListNamespaces().Intersect(lab.Namespaces, StringComparer.Ordinal).Select(ns => $"netns delete {ns}").ToList();
        await x.Net.IpBatchAsync(null, left, force: true, ct);
    }

    [GeneratedRegex(@"(?:^|\s)" + OvsLink.LabExternalId + @"=(\S+)")]
    private static partial Regex OvsLab();
}
