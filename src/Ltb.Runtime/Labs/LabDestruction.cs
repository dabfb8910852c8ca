using Ltb.Runtime.Links.Backends;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Labs;

/// <summary>
/// Removes what a lab created, from labels, names and aliases alone (so also a half-deployed or interrupted lab): nodes
/// of every driver, pinned namespaces, OVS bridges, host interfaces, firewall rules, management networks, the state folder.
/// </summary>
internal sealed class LabDestruction(LabContext x)
{
    /// <summary>The caller holds the lab's lock.</summary>
    public async Task DestroyAsync(string lab, IProgress<RuntimeEvent>? progress, CancellationToken ct)
    {
        var found = await x.ListNodesAsync(lab, ct);
        var record = x.Store.Load(lab);
        var nodeNames = found.Select(f => f.Node.Name).OfType<string>()
            .Concat(record?.Plan.Nodes.Select(n => n.Name) ?? []).ToHashSet(StringComparer.Ordinal);

        await Parallel.ForEachAsync(found, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(4, 2 * Environment.ProcessorCount), CancellationToken = ct },
            async (f, t) => await f.Driver.RemoveAsync(lab, f.Node, t));
        LabContext.Report(progress, lab, null, $"{found.Count} containers removed", RuntimeEventKind.Progress);

        var namespaces = x.Net.ListNamespaces().ToHashSet(StringComparer.Ordinal);
        await x.Net.IpBatchAsync(null, nodeNames.Select(n => Names.Netns(lab, n)).Append(Names.MirrorNetns(lab)).Where(namespaces.Contains)
            .Select(ns => $"netns delete {ns}").ToList(), force: true, ct);

        if (await x.Net.OvsAvailableAsync(ct))
        {
            var bridges = await x.Net.OvsVsctlAsync([["--bare", "--columns=name", "find", "bridge", $"external_ids:{OvsLink.LabExternalId}={lab}"]], ct);
            var names = bridges.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (names.Length > 0)
            {
                await x.Net.OvsVsctlAsync(names.Select(b => (IReadOnlyList<string>)["--if-exists", "del-br", b]).ToList(), ct);
            }
        }
        var prefix = Names.AliasPrefix(lab);
        var hostLinks = (await x.Net.ListLinksAsync(null, ct)).Where(l => l.Alias?.StartsWith(prefix, StringComparison.Ordinal) == true)
            .OrderBy(l => l.Kind == "bridge" ? 1 : 0).Select(l => $"link del {l.Name}").ToList();
        await x.Net.IpBatchAsync(null, hostLinks, force: true, ct);
        await x.Net.RemoveFirewallRulesAsync(prefix, ct);
        await TunnelFirewall.SyncAsync(x.Net, lab, [], ct);

        foreach (var n in await x.Mgmt.ListAsync(lab, ct))
        {
            await x.Mgmt.RemoveAsync(n.Id, ct);
        }
        x.Store.Delete(lab);
        LabContext.Report(progress, lab, null, "destroyed");
    }

    /// <summary>Removes some nodes of a lab (an apply's removed and recreated ones) and their pinned namespaces.</summary>
    public async Task RemoveNodesAsync(string lab, IReadOnlyList<string> nodes, int parallelism, CancellationToken ct)
    {
        if (nodes.Count == 0)
        {
            return;
        }
        var set = nodes.ToHashSet(StringComparer.Ordinal);
        var found = (await x.ListNodesAsync(lab, ct)).Where(f => f.Node.Name is { } n && set.Contains(n)).ToList();
        await Parallel.ForEachAsync(found, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct },
            async (f, t) => await f.Driver.RemoveAsync(lab, f.Node, t));
        var existing = x.Net.ListNamespaces().ToHashSet(StringComparer.Ordinal);
        await x.Net.IpBatchAsync(null, nodes.Select(n => Names.Netns(lab, n)).Where(existing.Contains).Select(ns => $"netns delete {ns}").ToList(), force: true, ct);
    }
}
