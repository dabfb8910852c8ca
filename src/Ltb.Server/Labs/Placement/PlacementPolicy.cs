namespace Ltb.Server.Labs.Placement;

/// <summary>Why one host cannot take a lab (every reason, so that a refusal says all that would have to change).</summary>
public sealed record HostRejection(string Host, IReadOnlyList<string> Reasons)
{
    public override string ToString() => $"{Host}: {string.Join(", ", Reasons)}";
}

/// <summary>
/// The outcome of placement: the host that owns the lab (and, for a lab that spans hosts, where each node runs), with the
/// reason recorded on the lab; or, when nothing fits, every host with why it was rejected.
/// </summary>
public sealed record PlacementDecision(HostOffer? Host, IReadOnlyDictionary<string, Guid>? NodeHosts, string Reason,
    IReadOnlyList<HostRejection> Rejections)
{
    public bool Placed => Host is not null;

    public static PlacementDecision Refused(string reason, IReadOnlyList<HostRejection> rejections) => new(null, null, reason, rejections);
}

/// <summary>
/// Where a new lab runs, decided from a snapshot of the hosts (pure: no database, no clock, the same input gives the same
/// answer). A host qualifies when it is ready, the caller may place labs on it, it can run every node's kind and its free
/// capacity (effective capacity minus what its labs demand) holds the lab. Among qualifying hosts the one that holds
/// every image wins over one that would have to pull, then the one with the most memory free after placement, then the
/// most CPUs free, then the name (ordinal) — so that labs spread over hosts and the choice is reproducible. An image no
/// qualifying host holds does not refuse the lab: the chosen host's engine pulls it at deployment (and the deployment
/// fails with the engine's message when it cannot). When no single host qualifies but the ready hosts together have the
/// room, the lab spans hosts: linked nodes stay together where they fit (see <see cref="Span"/>).
/// </summary>
public static class PlacementPolicy
{
    /// <param name="pinnedHost">The host the user asked for (form field `host`); it is checked like any other, and only it.</param>
    public static PlacementDecision Place(LabDemand lab, IReadOnlyList<HostOffer> hosts, string? pinnedHost = null)
    {
        var ordered = hosts.OrderBy(h => h.Name, StringComparer.Ordinal).ToList();
        var total = lab.Total;
        var pins = lab.Nodes.Where(n => n.PinnedHost is not null).ToDictionary(n => n.Name, n => n.PinnedHost!, StringComparer.Ordinal);
        if (pins.Values.FirstOrDefault(p => ordered.All(h => h.Name != p)) is { } unknown)
        {
            var nodes = string.Join(", ", pins.Where(p => p.Value == unknown).Select(p => p.Key));
            return PlacementDecision.Refused($"node(s) {nodes} are pinned ({LabDemand.HostLabel}) to host '{unknown}', which does not exist or is not visible to you", []);
        }
        if (pinnedHost is not null && pins.Values.FirstOrDefault(p => p != pinnedHost) is { } elsewhere)
        {
            return PlacementDecision.Refused($"the lab is deployed on host '{pinnedHost}' but its nodes are pinned ({LabDemand.HostLabel}) to host '{elsewhere}'", []);
        }

        var rejections = ordered.Select(h => new HostRejection(h.Name, HardReasons(lab, h, total))).ToList();
        var candidates = ordered.Where((h, i) => rejections[i].Reasons.Count == 0)
            .Where(h => pinnedHost is null ? pins.Values.All(p => p == h.Name) : h.Name == pinnedHost)
            .ToList();
        if (candidates.Count > 0)
        {
            var chosen = candidates
                .OrderBy(h => MissingImages(lab, h).Count)
                .ThenByDescending(h => (h.Free - total).MemoryBytes)
                .ThenByDescending(h => (h.Free - total).Cpus)
                .ThenBy(h => h.Name, StringComparer.Ordinal)
                .First();
            return new PlacementDecision(chosen, null, SingleHostReason(lab, chosen, total, ordered, rejections), []);
        }
        if (pinnedHost is not null)
        {
            var rejection = rejections.First(r => r.Host == pinnedHost);
            return PlacementDecision.Refused($"host '{pinnedHost}' cannot take the lab (it needs {total}): {string.Join(", ", rejection.Reasons)}",
                [rejection]);
        }
        return Span(lab, ordered, pins, total, rejections);
    }

    /// <summary>
    /// Whether a running lab may change as reconfigured: on each of its hosts where it would demand more CPUs or memory than
    /// it does, what it would demand must fit in what the host has free beside its other labs (<paramref name="hosts"/>
    /// count those only). A change that does not grow the lab on a host is never refused there, even on a host an admin
    /// has since shrunk. Null when it may; else why not, host by host, and what to do.
    /// </summary>
    public static string? RefuseGrowth(string lab, IReadOnlyDictionary<Guid, CpuMemory> before, IReadOnlyDictionary<Guid, CpuMemory> after,
        IReadOnlyList<HostOffer> hosts)
    {
        var full = hosts.OrderBy(h => h.Name, StringComparer.Ordinal)
            .Select(h => (Host: h, Was: before.GetValueOrDefault(h.Id), Needs: after.GetValueOrDefault(h.Id)))
            .Where(x => (x.Needs.Cpus > x.Was.Cpus + 1e-9 || x.Needs.MemoryBytes > x.Was.MemoryBytes) && !x.Host.Free.Holds(x.Needs))
            .Select(x => $"on host '{x.Host.Name}' it would need {x.Needs} (it has {x.Was}), and the host has {x.Host.Free} free for it of {x.Host.Capacity}")
            .ToList();
        return full.Count == 0 ? null
            : $"lab '{lab}' would not fit after the change: {string.Join("; ", full)}. Add fewer nodes or lower their cpu/memory, " +
              "or destroy the lab and deploy it again (placement then chooses among all hosts)";
    }

    /// <summary>Everything that rules a host out for the whole lab (an image it lacks does not: the engine can pull it).</summary>
    private static List<string> HardReasons(LabDemand lab, HostOffer host, CpuMemory total)
    {
        var reasons = new List<string>();
        if (!host.MayPlace)
        {
            reasons.Add("you may not place labs on it");
        }
        if (host.State != Data.LabHostState.Ready)
        {
            reasons.Add($"not ready ({host.State.ToString().ToLowerInvariant()})");
        }
        if (MissingKinds(lab.Nodes, host) is { Count: > 0 } kinds)
        {
            reasons.Add($"cannot run kind {string.Join(", ", kinds)}");
        }
        if (!host.Free.Holds(total))
        {
            reasons.Add($"no capacity: needs {total}, has {host.Free} free of {host.Capacity}");
        }
        return reasons;
    }

    private static List<string> MissingKinds(IEnumerable<NodeDemand> nodes, HostOffer host) =>
        nodes.Select(n => n.Kind).Distinct().Where(k => !host.RunsKind(k)).Order(StringComparer.Ordinal).ToList();

    private static List<string> MissingImages(LabDemand lab, HostOffer host) =>
        lab.Nodes.Select(n => n.Image).Distinct().Where(i => !host.HasImage(i)).Order(StringComparer.Ordinal).ToList();

    private static string SingleHostReason(LabDemand lab, HostOffer chosen, CpuMemory total, List<HostOffer> hosts,
        List<HostRejection> rejections)
    {
        var after = chosen.Free - total;
        var parts = new List<string>
        {
            $"{chosen.Name}: {CpuMemory.FormatCpus(after.Cpus)} of {CpuMemory.FormatCpus(chosen.Capacity.Cpus)} CPUs and " +
            $"{CpuMemory.FormatMemory(after.MemoryBytes)} of {CpuMemory.FormatMemory(chosen.Capacity.MemoryBytes)} free after placement",
        };
        if (MissingImages(lab, chosen) is { Count: > 0 } pulled)
        {
            parts.Add($"{chosen.Name} pulls image {string.Join(", ", pulled)}");
        }
        for (var i = 0; i < hosts.Count; i++)
        {
            if (hosts[i].Id == chosen.Id)
            {
                continue;
            }
            if (rejections[i].Reasons.Count > 0)
            {
                parts.Add(rejections[i].ToString());
            }
            else if (MissingImages(lab, hosts[i]) is { Count: > 0 } lacks)
            {
                parts.Add($"{hosts[i].Name} lacks image {string.Join(", ", lacks)}");
            }
        }
        return string.Join("; ", parts);
    }

    /// <summary>
    /// A lab no single host holds, split over the ready hosts the caller may use: pinned nodes on their hosts first; then
    /// each group of linked nodes (largest first) whole on the host with the most memory left that holds it; a group no
    /// host holds is split node by node, each node next to the most of its already placed neighbours where it fits, else
    /// on the host with the most memory left. Greedy, not optimal: it can refuse a lab an exhaustive search would place.
    /// </summary>
    private static PlacementDecision Span(LabDemand lab, List<HostOffer> hosts, Dictionary<string, string> pins, CpuMemory total,
        List<HostRejection> rejections)
    {
        // Only hosts that can carry VXLAN tunnels take part in a lab that spans hosts.
        var usable = hosts.Where(h => h.MayPlace && h.State == Data.LabHostState.Ready && h.CanSpan).ToList();
        var combined = usable.Aggregate(CpuMemory.Zero, (sum, h) => sum + Max(h.Free, CpuMemory.Zero));
        string Refusal() => $"no host can take the lab (it needs {total}" +
            (usable.Count > 1 ? $"; the ready hosts that can span labs together have {combined} free" : "") + $"): {string.Join("; ", rejections)}";
        if (pins.Values.Distinct().Count() > 1 && pins.Values.FirstOrDefault(p => usable.All(h => h.Name != p)) is { } cannot)
        {
            var host = hosts.First(h => h.Name == cannot);
            var why = !host.CanSpan ? "takes no part in labs that span hosts (no tunnel address: the local host, or an agent without --tunnel-address)"
                : $"cannot take nodes ({string.Join(", ", rejections.First(r => r.Host == cannot).Reasons.DefaultIfEmpty("not ready"))})";
            return PlacementDecision.Refused($"nodes are pinned ({LabDemand.HostLabel}) to several hosts, and host '{cannot}' {why}", rejections);
        }

        var free = usable.ToDictionary(h => h.Id, h => h.Free);
        var byName = usable.ToDictionary(h => h.Name, StringComparer.Ordinal);
        var nodes = lab.Nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        var placed = new Dictionary<string, Guid>(StringComparer.Ordinal);
        bool Fits(HostOffer h, NodeDemand n) => h.RunsKind(n.Kind) && free[h.Id].Holds(n.Demand);
        void Put(HostOffer h, NodeDemand n)
        {
            placed[n.Name] = h.Id;
            free[h.Id] -= n.Demand;
        }

        foreach (var (name, hostName) in pins.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!byName.TryGetValue(hostName, out var host) || !Fits(host, nodes[name]))
            {
                return PlacementDecision.Refused(Refusal(), rejections);
            }
            Put(host, nodes[name]);
        }
        if (usable.Count < 2 && pins.Values.Distinct().Count() < 2)
        {
            return PlacementDecision.Refused(Refusal(), rejections);
        }

        var neighbours = lab.Nodes.ToDictionary(n => n.Name, _ => new List<string>(), StringComparer.Ordinal);
        foreach (var (a, b) in lab.Links)
        {
            neighbours[a].Add(b);
            neighbours[b].Add(a);
        }
        foreach (var group in Groups(lab, neighbours).Select(g => g.Where(n => !placed.ContainsKey(n)).ToList()).Where(g => g.Count > 0)
                     .OrderByDescending(g => g.Sum(n => nodes[n].Demand.MemoryBytes)).ThenBy(g => g[0], StringComparer.Ordinal))
        {
            var demand = group.Aggregate(CpuMemory.Zero, (sum, n) => sum + nodes[n].Demand);
            var whole = usable.Where(h => free[h.Id].Holds(demand) && group.All(n => h.RunsKind(nodes[n].Kind)))
                .OrderByDescending(h => (free[h.Id] - demand).MemoryBytes).ThenBy(h => h.Name, StringComparer.Ordinal).FirstOrDefault();
            if (whole is not null)
            {
                group.ForEach(n => Put(whole, nodes[n]));
                continue;
            }
            foreach (var name in group)
            {
                var node = nodes[name];
                var host = usable.Where(h => Fits(h, node))
                    .OrderByDescending(h => neighbours[name].Count(m => placed.TryGetValue(m, out var at) && at == h.Id))
                    .ThenByDescending(h => (free[h.Id] - node.Demand).MemoryBytes)
                    .ThenBy(h => h.Name, StringComparer.Ordinal)
                    .FirstOrDefault();
                if (host is null)
                {
                    return PlacementDecision.Refused(Refusal(), rejections);
                }
                Put(host, node);
            }
        }

        var counts = usable.Select(h => (Host: h, Nodes: placed.Count(p => p.Value == h.Id))).Where(c => c.Nodes > 0)
            .OrderByDescending(c => c.Nodes).ThenBy(c => c.Host.Name, StringComparer.Ordinal).ToList();
        var primary = counts[0].Host;
        var crossing = lab.Links.Count(l => placed[l.A] != placed[l.B]);
        var reason = $"spans {string.Join(", ", counts.Select(c => $"{c.Host.Name} ({c.Nodes} node{(c.Nodes == 1 ? "" : "s")})"))}, " +
            $"{crossing} link{(crossing == 1 ? "" : "s")} between hosts: " +
            (pins.Count > 0 && counts.Count > 1 && rejections.All(r => r.Reasons.Count == 0)
                ? $"nodes are pinned to hosts ({LabDemand.HostLabel})"
                : $"no single host holds the lab ({total}): {string.Join("; ", rejections.Where(r => r.Reasons.Count > 0))}");
        return new PlacementDecision(primary, placed, reason, []);
    }

    /// <summary>The connected groups of nodes (by links), each in breadth-first order from its largest node.</summary>
    private static List<List<string>> Groups(LabDemand lab, Dictionary<string, List<string>> neighbours)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var groups = new List<List<string>>();
        var order = lab.Nodes.OrderByDescending(n => n.Demand.MemoryBytes).ThenByDescending(n => n.Demand.Cpus)
            .ThenBy(n => n.Name, StringComparer.Ordinal).Select(n => n.Name);
        foreach (var start in order)
        {
            if (!seen.Add(start))
            {
                continue;
            }
            var group = new List<string>();
            var queue = new Queue<string>([start]);
            while (queue.TryDequeue(out var name))
            {
                group.Add(name);
                foreach (var next in neighbours[name].Order(StringComparer.Ordinal).Where(seen.Add))
                {
                    queue.Enqueue(next);
                }
            }
            groups.Add(group);
        }
        return groups;
    }

    private static CpuMemory Max(CpuMemory a, CpuMemory b) => new(Math.Max(a.Cpus, b.Cpus), Math.Max(a.MemoryBytes, b.MemoryBytes));
}
