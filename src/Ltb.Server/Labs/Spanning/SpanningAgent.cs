using Ltb.Runtime.Plan;
using Ltb.Runtime.Planning;
using Ltb.Runtime.Status;
using Ltb.Server.Data;

namespace Ltb.Server.Labs.Spanning;

/// <summary>One host of a spanning lab: the host and its agent (null when none is connected).</summary>
public sealed record SpanHost(LabHost Host, ILabHostAgent? Agent);

/// <summary>
/// The agent of a lab that spans hosts, as one <see cref="ILabHostAgent"/>: a deployment splits the plan
/// (<see cref="PlanSplitter"/>: cross-host links become VXLAN pairs with the lab's VNIs) and deploys every host's part in
/// parallel; with rollback, a failure on one host removes the lab from all of them. Destroy runs on every host, inspect
/// merges the hosts' views, node and link operations go to the node's host. The lab has the same runtime name on every
/// host (unique per host, and each host holds only its own nodes). Node operations are routed by the base
/// (<see cref="NodeRoutingAgent"/>): this class only says which host a node is on.
/// </summary>
public sealed class SpanningAgent(LabLayout layout, IReadOnlyDictionary<Guid, SpanHost> hosts, IReadOnlyDictionary<string, int> vnis,
    Func<CancellationToken, Task>? destroyed = null) : NodeRoutingAgent
{
    public override async Task<AgentHealth> CheckAsync(CancellationToken ct)
    {
        var checks = await Task.WhenAll(hosts.Values.Select(async h =>
            (h.Host.Name, Health: h.Agent is null ? new AgentHealth(false, "no agent connected") : await h.Agent.CheckAsync(ct))));
        var down = checks.Where(c => !c.Health.Reachable).ToList();
        return down.Count == 0
            ? new AgentHealth(true, $"hosts {string.Join(", ", checks.Select(c => c.Name))} reachable")
            : new AgentHealth(false, string.Join("; ", down.Select(d => $"host '{d.Name}': {d.Health.Message}")));
    }

    public override Task<LabStatus> DeployAsync(LabPlan plan, AgentDeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct) =>
        OnEveryHostAsync(plan, options, progress, (agent, host, part, c) => agent.DeployAsync(part, options, Prefixed(progress, host), c), ct);

    public override Task<LabStatus> ApplyAsync(LabPlan plan, AgentDeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct) =>
        OnEveryHostAsync(plan, options, progress, (agent, host, part, c) => agent.ApplyAsync(part, options, Prefixed(progress, host), c), ct);

    private async Task<LabStatus> OnEveryHostAsync(LabPlan plan, AgentDeployOptions options, IProgress<RuntimeEvent>? progress,
        Func<ILabHostAgent, string, LabPlan, CancellationToken, Task<LabStatus>> run, CancellationToken ct)
    {
        var names = hosts.ToDictionary(h => h.Key, h => h.Value.Host.Name);
        var split = PlanSplitter.Split(plan,
            layout.NodeHosts.ToDictionary(n => n.Key, n => names.TryGetValue(n.Value, out var name) ? name : n.Value.ToString(), StringComparer.Ordinal),
            hosts.Values.Where(h => !string.IsNullOrEmpty(h.Host.TunnelAddress)).ToDictionary(h => h.Host.Name, h => h.Host.TunnelAddress!, StringComparer.Ordinal),
            vnis);
        if (!split.Succeeded)
        {
            throw new LabRuntimeException(plan.LabName, null, "cannot split the lab over its hosts: " + string.Join("; ", split.Errors));
        }
        foreach (var w in split.Warnings)
        {
            progress?.Report(new RuntimeEvent(DateTimeOffset.UtcNow, plan.LabName, null, RuntimeEventKind.Warning, w));
        }
        var byName = hosts.Values.ToDictionary(h => h.Host.Name, StringComparer.Ordinal);
        var missing = split.Plans.Keys.Where(h => byName[h].Agent is null).ToList();
        if (missing.Count > 0)
        {
            throw new LabRuntimeException(plan.LabName, null, $"host {string.Join(", ", missing.Select(m => $"'{m}'"))} has no connected agent");
        }
        progress?.Report(new RuntimeEvent(DateTimeOffset.UtcNow, plan.LabName, null, RuntimeEventKind.Info,
            $"the lab spans {split.Plans.Count} hosts: {string.Join("; ", split.Plans.Select(p => $"{p.Key}: {string.Join(", ", p.Value.Nodes.Select(n => n.Name))}"))}"));
        var results = await Task.WhenAll(split.Plans.Select(async p =>
        {
            try
            {
                return (Host: p.Key, Status: await run(byName[p.Key].Agent!, p.Key, p.Value, ct), Error: (Exception?)null);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                return (Host: p.Key, Status: (e as LabRuntimeException)?.Status, Error: e);
            }
        }));
        var failed = results.Where(r => r.Error is not null).ToList();
        if (failed.Count == 0)
        {
            return Merge(plan.LabName, results.Select(r => (r.Host, r.Status!)).ToList(), vnis.Keys);
        }
        var message = string.Join("; ", failed.Select(f => $"on host '{f.Host}': {f.Error!.Message}"));
        if (options.Rollback)
        {
            // The hosts that succeeded hold a part that cannot work alone: all parts go.
            progress?.Report(new RuntimeEvent(DateTimeOffset.UtcNow, plan.LabName, null, RuntimeEventKind.Info, "rolling back on every host"));
            await DestroyAsync(plan.LabName, progress, CancellationToken.None);
        }
        throw new LabRuntimeException(plan.LabName, null, $"the deployment failed {message}", failed[0].Error);
    }

    public override async Task DestroyAsync(string lab, IProgress<RuntimeEvent>? progress, CancellationToken ct)
    {
        var errors = new List<string>();
        await Task.WhenAll(hosts.Values.Select(async h =>
        {
            try
            {
                if (h.Agent is null)
                {
                    throw new InvalidOperationException("no agent connected");
                }
                await h.Agent.DestroyAsync(lab, Prefixed(progress, h.Host.Name), ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                lock (errors)
                {
                    errors.Add($"on host '{h.Host.Name}': {e.Message}");
                }
            }
        }));
        if (errors.Count > 0)
        {
            throw new LabRuntimeException(lab, null, $"the removal failed {string.Join("; ", errors)}; destroy the lab again");
        }
        if (destroyed is not null)
        {
            await destroyed(ct);
        }
    }

    public override async Task<LabStatus> InspectAsync(string lab, CancellationToken ct)
    {
        var parts = await Task.WhenAll(hosts.Values.Select(async h =>
        {
            try
            {
                return (h.Host.Name, h.Agent is null
                    ? Unreachable(lab, "no agent connected")
                    : await h.Agent.InspectAsync(lab, ct));
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                return (h.Host.Name, Unreachable(lab, e.Message));
            }
        }));
        return Merge(lab, parts, vnis.Keys);
    }

    public override async Task<IReadOnlyList<string>> ListLabsAsync(CancellationToken ct)
    {
        var lists = await Task.WhenAll(hosts.Values.Where(h => h.Agent is not null).Select(h => h.Agent!.ListLabsAsync(ct)));
        return [.. lists.SelectMany(l => l).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    protected override ILabHostAgent AgentOf(string lab, string node)
    {
        if (!layout.NodeHosts.TryGetValue(node, out var id) || !hosts.TryGetValue(id, out var host))
        {
            throw new LabRuntimeException(lab, node, "the node is not placed on any host of the lab");
        }
        return host.Agent ?? throw new LabRuntimeException(lab, node, $"its host '{host.Host.Name}' has no connected agent");
    }

    private static LabStatus Unreachable(string lab, string why) =>
        new(lab, LabState.Absent, LinkBackend.Veth, null, null, null, [], [], why);

    /// <summary>One view of the lab from its hosts' views: all nodes and links; running only when every part runs.</summary>
    public static LabStatus Merge(string lab, IReadOnlyList<(string Host, LabStatus Status)> parts, IEnumerable<string> crossHostLinks)
    {
        var states = parts.Select(p => p.Status.State).Distinct().ToList();
        var state = states.Count == 1 ? states[0]
            : states.Contains(LabState.Failed) ? LabState.Failed
            : states.Contains(LabState.Deploying) ? LabState.Deploying
            : LabState.Degraded;
        var errors = parts.Where(p => p.Status.Error is not null).Select(p => $"host '{p.Host}': {p.Status.Error}").ToList();
        var first = parts.FirstOrDefault(p => p.Status.State != LabState.Absent).Status ?? parts[0].Status;
        var (nodes, links) = JoinTunnels([.. parts.SelectMany(p => p.Status.Nodes)], [.. parts.SelectMany(p => p.Status.Links)], crossHostLinks);
        return new LabStatus(lab, state, first.LinkBackend,
            string.Join(", ", parts.Select(p => p.Status.MgmtNetwork).OfType<string>().Distinct()) is { Length: > 0 } m ? m : null,
            first.MgmtIpv4Subnet, first.MgmtIpv6Subnet, nodes, links,
            errors.Count == 0 ? null : string.Join("; ", errors))
        {
            Mirrors = [.. parts.SelectMany(p => p.Status.Mirrors).OrderBy(m => m.Name, StringComparer.Ordinal)],
        };
    }

    /// <summary>
    /// Each host reports its end of a cross-host link as a one-sided VXLAN link: the user's view shows the link as written
    /// (both ends, type vxlan, up when both ends are) and each end's interface names the other as its peer.
    /// </summary>
    private static (IReadOnlyList<NodeStatus>, IReadOnlyList<LinkStatus>) JoinTunnels(List<NodeStatus> nodes, List<LinkStatus> links,
        IEnumerable<string> crossHostLinks)
    {
        foreach (var key in crossHostLinks)
        {
            // The planner's key of a node-to-node link: "Veth:A=B" with A and B as node:interface.
            if (key.Split(':', 2) is not [_, var ends] || ends.Split('=') is not [var a, var b])
            {
                continue;
            }
            var halves = links.Where(l => l.Type == PlanSplitter.TunnelType && (l.A == a || l.A == b)).ToList();
            if (halves.Count == 0)
            {
                continue;
            }
            links.RemoveAll(halves.Contains);
            bool? up = halves.Count < 2 ? false : halves.All(h => h.Up == true) ? true : halves.Any(h => h.Up == false) ? false : null;
            links.Add(new LinkStatus(key, PlanSplitter.TunnelType, a, b, up, string.Join("; ", halves.Select(h => h.Error).OfType<string>()) is { Length: > 0 } e ? e : null));
            for (var i = 0; i < nodes.Count; i++)
            {
                var n = nodes[i];
                if (n.Interfaces.Any(x => $"{n.Name}:{x.Name}" is var me && (me == a || me == b) && x.Peer is null))
                {
                    nodes[i] = n with
                    {
                        Interfaces = [.. n.Interfaces.Select(x => $"{n.Name}:{x.Name}" == a ? x with { Peer = b } : $"{n.Name}:{x.Name}" == b ? x with { Peer = a } : x)],
                    };
                }
            }
        }
        return (nodes, links);
    }

    private static HostProgress? Prefixed(IProgress<RuntimeEvent>? progress, string host) =>
        progress is null ? null : new HostProgress(progress, host);

    /// <summary>Events of one host's part: lab-wide lines name the host (node lines name the node, which is on one host).</summary>
    private sealed class HostProgress(IProgress<RuntimeEvent> inner, string host) : IProgress<RuntimeEvent>
    {
        public void Report(RuntimeEvent value) =>
            inner.Report(value.Node is not null ? value : value with { Message = $"host {host}: {value.Message}" });
    }
}
