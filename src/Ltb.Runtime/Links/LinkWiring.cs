using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Links;

/// <summary>What the link types and backends need to know about the lab they wire.</summary>
public sealed record LinkContext(string Lab, LinkBackend Backend, string? MgmtBridge)
{
    public string Netns(string node) => Names.Netns(Lab, node);

    /// <summary>The <c>ip link add</c> words that give an end its MAC address, if the plan sets one.</summary>
    public static string Mac(LinkEndpoint e) => e.Mac is null ? "" : $" address {e.Mac}";
}

/// <summary>
/// Commands collected from all links of a step, run together: one host <c>ip -batch</c>, one <c>ovs-vsctl</c> transaction,
/// one <c>ovs-ofctl</c> per OVS bridge, one host <c>tc -batch</c>, then one <c>ip -batch</c> per node namespace (in parallel).
/// This keeps process spawns per deploy close to one per node rather than several per link.
/// </summary>
public sealed class WiringBatch
{
    public List<string> HostIp { get; } = [];
    public List<IReadOnlyList<string>> Ovs { get; } = [];
    public Dictionary<string, List<string>> OvsFlows { get; } = new(StringComparer.Ordinal);
    public List<string> HostTc { get; } = [];
    public Dictionary<string, List<string>> NetnsIp { get; } = new(StringComparer.Ordinal);
    public List<string> KindsNeeded { get; } = [];
    /// <summary>Linux bridges whose bridged traffic the host firewall must let through (bridge, rule comment).</summary>
    public List<(string Bridge, string Comment)> FirewallAllow { get; } = [];
    /// <summary>Comments (prefixes) of firewall rules to remove.</summary>
    public List<string> FirewallRemove { get; } = [];

    public void InNetns(string netns, string line)
    {
        if (!NetnsIp.TryGetValue(netns, out var list))
        {
            NetnsIp[netns] = list = [];
        }
        list.Add(line);
    }

    public async Task RunAsync(IHostNetwork net, int parallelism, bool force, CancellationToken ct)
    {
        await net.IpBatchAsync(null, HostIp, force, ct);
        if (Ovs.Count > 0)
        {
            await net.OvsVsctlAsync(Ovs, ct);
        }
        await Parallel.ForEachAsync(OvsFlows, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct },
            async (kv, c) => await net.OvsAddFlowsAsync(kv.Key, kv.Value, c));
        await net.TcBatchAsync(null, HostTc, force, ct);
        await net.AllowBridgedAsync(FirewallAllow, ct);
        foreach (var comment in FirewallRemove)
        {
            await net.RemoveFirewallRulesAsync(comment, ct);
        }
        await Parallel.ForEachAsync(NetnsIp, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct },
            async (kv, c) => await net.IpBatchAsync(kv.Key, kv.Value, force, c));
    }
}

/// <summary>How one link type (or, for node-to-node links, one backend) creates, removes and switches a link; chosen by <see cref="Types.LinkTypeDefinition.Wiring"/>.</summary>
public interface ILinkWiring
{
    void Create(LinkPlan link, LinkContext ctx, WiringBatch batch);
    void Remove(LinkPlan link, LinkContext ctx, WiringBatch batch);
    /// <summary>Sets the link's carrier as both ends see it.</summary>
    void SetState(LinkPlan link, LinkContext ctx, bool up, WiringBatch batch);
}
