using Ltb.Runtime.Docker;
using Ltb.Runtime.Links;
using Ltb.Runtime.Links.Types;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using NodeStatus = Ltb.Runtime.Status.NodeStatus;

namespace Ltb.Runtime.Labs;

/// <summary>Operations on one node or link of a deployed lab: stop, start, restart, link state and rate, exec, logs, stats.</summary>
internal sealed class NodeOperations(LabContext x, LabInspection inspection)
{
    /// <summary>Stops a node; its interfaces stay in its pinned namespace (set down, so the peers lose carrier).</summary>
    public async Task<NodeStatus> StopAsync(string lab, string node, TimeSpan? timeout, CancellationToken ct)
    {
        var (record, n) = x.Find(lab, node);
        using var _ = await LabContext.LockAsync(lab, ct);
        var ends = LabContext.NodeInterfaces(record, node);
        await x.Net.IpBatchAsync(Names.Netns(lab, node), ends.Select(i => $"link set {i} down").ToList(), force: true, ct);
        using var t = LabContext.Timed((timeout ?? TimeSpan.FromSeconds(10)) + TimeSpan.FromSeconds(30), ct);
        await x.Driver(lab, n).StopAsync(lab, n.Name, timeout ?? TimeSpan.FromSeconds(10), t.Token);
        return (await inspection.InspectAsync(lab, ct)).Node(node);
    }

    /// <summary>
    /// Starts a stopped node. It comes back in a new network namespace, so the node's interfaces are moved from the
    /// pinned old namespace into the new one (same names, MACs, MTUs, peers untouched), the pin is moved to the new
    /// namespace, and the node's exec commands run again (a restart is a reboot).
    /// </summary>
    public async Task<NodeStatus> StartAsync(string lab, string node, CancellationToken ct)
    {
        var (record, n) = x.Find(lab, node);
        var driver = x.Driver(lab, n);
        using var _ = await LabContext.LockAsync(lab, ct);
        using var t = LabContext.Timed(TimeSpan.FromMinutes(2), ct);
        if (!await driver.IsRunningAsync(lab, node, t.Token))
        {
            await driver.StartAsync(lab, n, t.Token);
        }
        var ns = await driver.NamespaceAsync(lab, node, t.Token);
        await RewireAsync(record, n, ns.Pid, t.Token);
        await x.InterfacesWiredAsync(record, record.Plan, record.Mgmt, n, ct);
        await x.RunExecAsync(lab, n, TimeSpan.FromSeconds(60), null, t.Token);
        return (await inspection.InspectAsync(lab, ct)).Node(node);
    }

    public async Task<NodeStatus> RestartAsync(string lab, string node, CancellationToken ct)
    {
        await StopAsync(lab, node, null, ct);
        return await StartAsync(lab, node, ct);
    }

    private async Task RewireAsync(LabRecord record, NodePlan node, long pid, CancellationToken ct)
    {
        var plan = record.Plan;
        var lab = plan.LabName;
        var ns = Names.Netns(lab, node.Name);
        var ifaces = LabContext.NodeInterfaces(record, node.Name);
        var identify = await x.Net.RunAsync("ip", ["netns", "identify", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], null, null, ct);
        var already = identify.Stdout.Split('\n', StringSplitOptions.TrimEntries).Contains(ns);
        if (!already)
        {
            if (x.Net.ListNamespaces().Contains(ns))
            {
                await x.Net.IpBatchAsync(ns, ifaces.Select(i => $"link set {i} netns {pid}").ToList(), force: true, ct);
                await x.Net.IpBatchAsync(null, [$"netns delete {ns}"], force: true, ct);
            }
            await x.Net.IpBatchAsync(null, [$"netns attach {ns} {pid}"], force: false, ct);
        }
        var present = (await x.Net.ListLinksAsync(ns, ct)).Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        await x.Net.IpBatchAsync(ns, ifaces.Where(present.Contains).Select(i => $"link set {i} up").ToList(), force: true, ct);
        var mgmt = LabContext.IsLtbWired(plan, record.Mgmt, node.Name) ? record.Mgmt : null;
        if (mgmt is not null && present.Contains(Names.MgmtInterface))
        {
            // Moving eth0 into the new namespace dropped its addresses and routes.
            await x.Net.IpBatchAsync(ns, MgmtInterface.Configure(mgmt, mgmt.Nodes[node.Name]).ToList(), force: false, ct);
        }
        await RecreateMissingAsync(record, node, present, mgmt, ct);
    }

    /// <summary>Interfaces that did not survive (e.g. the pin was lost): their links and the management interface are made again.</summary>
    private async Task RecreateMissingAsync(LabRecord record, NodePlan node, HashSet<string> present, MgmtState? mgmt, CancellationToken ct)
    {
        var plan = record.Plan;
        var missing = plan.Links.Where(l => LinkTypes.NodeEnds(l).Any(e => e.Node == node.Name && !present.Contains(e.Interface))).ToList();
        var mgmtMissing = mgmt is not null && !present.Contains(Names.MgmtInterface);
        if (missing.Count == 0 && !mgmtMissing)
        {
            return;
        }
        var ctx = new LinkContext(plan.LabName, plan.LinkBackend, record.MgmtBridge);
        var remove = new WiringBatch();
        var create = new WiringBatch();
        foreach (var l in missing)
        {
            LinkTypes.Wiring(l, plan.LinkBackend).Remove(l, ctx, remove);
            LinkTypes.Wiring(l, plan.LinkBackend).Create(l, ctx, create);
        }
        if (mgmtMissing)
        {
            MgmtInterface.Remove(ctx, node.Name, remove);
            MgmtInterface.Create(ctx, mgmt!, node.Name, mgmt!.Nodes[node.Name], create);
        }
        await remove.RunAsync(x.Net, 4, force: true, ct);
        await create.RunAsync(x.Net, 4, force: false, ct);
    }

    /// <summary>Takes a link down or up; both ends see the carrier change.</summary>
    public async Task SetLinkStateAsync(string lab, string node, string iface, bool up, CancellationToken ct)
    {
        var (plan, link) = x.FindLink(lab, node, iface);
        var record = x.Store.Load(lab);
        var batch = new WiringBatch();
        LinkTypes.Wiring(link, plan.LinkBackend).SetState(link, new LinkContext(lab, plan.LinkBackend, record?.MgmtBridge), up, batch);
        await batch.RunAsync(x.Net, 2, force: false, ct);
    }

    /// <summary>Limits the link's rate in both directions (tc tbf on each node-side end); null removes the limit.</summary>
    public async Task SetLinkRateAsync(string lab, string node, string iface, long? kbitPerSecond, CancellationToken ct)
    {
        var (_, link) = x.FindLink(lab, node, iface);
        foreach (var e in LinkTypes.NodeEnds(link))
        {
            var ns = Names.Netns(lab, e.Node);
            if (kbitPerSecond is { } rate)
            {
                var burst = Math.Max(rate * 1000 / 8 / 100, 16 * 1024);
                await x.Net.TcBatchAsync(ns, [$"qdisc replace dev {e.Interface} root tbf rate {rate}kbit burst {burst} latency 100ms"], force: false, ct);
            }
            else
            {
                await x.Net.TcBatchAsync(ns, [$"qdisc del dev {e.Interface} root"], force: true, ct);
            }
        }
    }

    public async Task<bool> StreamLogsAsync(string lab, string node, int? tail, bool follow, long? limitBytes,
        Func<string, CancellationToken, ValueTask> write, CancellationToken ct)
    {
        var (_, n) = x.Find(lab, node);
        return await x.Driver(lab, n).StreamLogsAsync(lab, node, tail, follow, limitBytes, write, ct);
    }

    /// <summary>Runs a command in a running node of the lab (what a user asks for: `ltb lab exec`).</summary>
    public async Task<ExecResult> ExecAsync(string lab, string node, IReadOnlyList<string> command, TimeSpan timeout, long limitBytes, CancellationToken ct)
    {
        await RequireRunningAsync(lab, node, ct);
        return await DriverOf(lab, node).ExecAsync(lab, node, command, timeout, limitBytes, ct);
    }

    public async Task<IExecSession> OpenExecSessionAsync(ExecSessionRequest request, CancellationToken ct)
    {
        await RequireRunningAsync(request.Lab, request.Node, ct);
        var driver = DriverOf(request.Lab, request.Node);
        return request.NodeDisplay ? await driver.OpenDisplayAsync(request.Lab, request.Node, ct)
            : request.NodeConsole ? await driver.OpenConsoleAsync(request.Lab, request.Node, request.Size ?? new TerminalSize(24, 80), ct)
            : await driver.OpenExecSessionAsync(request, ct);
    }

    private async Task RequireRunningAsync(string lab, string node, CancellationToken ct)
    {
        var status = await inspection.InspectAsync(lab, ct);
        var n = status.Nodes.FirstOrDefault(s => s.Name == node) ?? throw new LabRuntimeException(lab, node, "no such node in the lab");
        if (n.State != NodeState.Running)
        {
            throw new LabRuntimeException(lab, node, $"the node is {n.State.ToString().ToLowerInvariant()}, not running; start it first");
        }
    }

    public Task<NodeStats> StatsAsync(string lab, string node, CancellationToken ct) => DriverOf(lab, node).StatsAsync(lab, node, ct);

    /// <summary>A running node's saved state (<see cref="NodeSnapshotStream"/>) to <paramref name="write"/>, in pieces.</summary>
    public async Task SnapshotAsync(NodeSnapshotRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, CancellationToken ct)
    {
        await RequireRunningAsync(request.Lab, request.Node, ct);
        await using var output = new CallbackStream(write);
        await DriverOf(request.Lab, request.Node).SnapshotAsync(request, output, ct);
        await output.FlushAsync(ct);
    }

    /// <summary>The driver of a node of the applied plan; a lab without a record (found by labels only) is run by containers.</summary>
    private INodeDriver DriverOf(string lab, string node)
    {
        var plan = x.Store.Load(lab)?.Plan.Nodes.FirstOrDefault(n => n.Name == node);
        return x.Driver(lab, plan ?? new NodePlan { Name = node, Image = "" });
    }
}
