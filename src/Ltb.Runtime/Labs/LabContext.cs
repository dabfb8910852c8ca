using System.Collections.Concurrent;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Links.Types;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Labs;

/// <summary>
/// What the lab operations (deploy, apply, destroy, inspect, node operations) share: the node drivers, the host
/// network, the management networks, the state folder, the per-lab lock, and the small rules they all use.
/// </summary>
internal sealed class LabContext(NodeDrivers drivers, IHostNetwork net, IMgmtNetworks mgmt, LabStateStore store)
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> LabLocks = new(StringComparer.Ordinal);

    public NodeDrivers Drivers { get; } = drivers;
    public IHostNetwork Net { get; } = net;
    public IMgmtNetworks Mgmt { get; } = mgmt;
    public LabStateStore Store { get; } = store;

    public INodeDriver Driver(string lab, NodePlan node) => Drivers.For(lab, node);

    /// <summary>The lab's nodes on this host, of every driver.</summary>
    public async Task<List<(INodeDriver Driver, DriverNode Node)>> ListNodesAsync(string lab, CancellationToken ct)
    {
        var all = new List<(INodeDriver, DriverNode)>();
        foreach (var d in Drivers.All)
        {
            all.AddRange((await d.ListAsync(lab, ct)).Select(n => (d, n)));
        }
        return all;
    }

    /// <summary>Each link end (<c>NODE:IFACE</c>) of the plan -> the other end.</summary>
    public static Dictionary<string, string> Peers(LabPlan? plan)
    {
        var peers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var l in plan?.Links ?? [])
        {
            if (l.B is not null)
            {
                peers[l.A.ToString()] = l.B.ToString();
                peers[l.B.ToString()] = l.A.ToString();
            }
        }
        return peers;
    }

    public (LabRecord Record, NodePlan Node) Find(string lab, string node)
    {
        var record = Store.Load(lab) ?? throw new LabRuntimeException(lab, node, "the lab is not deployed on this host");
        var n = record.Plan.Nodes.FirstOrDefault(x => x.Name == node) ?? throw new LabRuntimeException(lab, node, "the lab has no such node");
        return (record, n);
    }

    public (LabPlan Plan, LinkPlan Link) FindLink(string lab, string node, string iface)
    {
        var record = Store.Load(lab) ?? throw new LabRuntimeException(lab, node, "the lab is not deployed on this host");
        var link = record.Plan.Links.FirstOrDefault(l => LinkTypes.NodeEnds(l).Any(e => e.Node == node && e.Interface == iface))
                   ?? throw new LabRuntimeException(lab, node, $"no link ends at {node}:{iface}");
        return (record.Plan, link);
    }

    /// <summary>Runs the node's exec commands in order (after its links are up); the first failure stops and names the command.</summary>
    public async Task RunExecAsync(string lab, NodePlan node, TimeSpan timeout, IProgress<RuntimeEvent>? progress, CancellationToken ct)
    {
        var driver = Driver(lab, node);
        foreach (var cmd in node.Exec)
        {
            ExecResult r;
            try
            {
                r = await driver.ExecAsync(lab, node.Name, cmd.ToArgv(), timeout, ContainerExec.HardLimitBytes, ct);
            }
            catch (NodeExecException e)
            {
                throw new LabRuntimeException(lab, node.Name, e.TimedOut
                    ? $"exec command '{cmd}' did not finish within {timeout.TotalSeconds:0} s"
                    : $"exec command '{cmd}' could not run: {e.Cause}", e);
            }
            if (!r.Succeeded)
            {
                var said = (r.Stderr + r.Stdout).Trim();
                throw new LabRuntimeException(lab, node.Name, $"exec command '{cmd}' failed with exit code {r.ExitCode}{(said.Length > 0 ? ": " + said : "")}");
            }
            Report(progress, lab, node.Name, $"exec '{cmd}' done");
        }
    }

    /// <summary>Tells the node's driver that its interfaces are in its namespace (a VM joins them to its cards and boots to ready).</summary>
    public Task InterfacesWiredAsync(LabRecord? record, LabPlan plan, MgmtState? mgmt, NodePlan node, CancellationToken ct) =>
        Driver(plan.LabName, node).InterfacesWiredAsync(plan, node,
            NodeInterfaces(record ?? new LabRecord(plan, LabPhase.Deploying, null, mgmt?.Bridge, mgmt), node.Name), ct);

    /// <summary>The interfaces LTB put into a node: its link ends, and eth0 where LTB wired the management interface.</summary>
    public static List<string> NodeInterfaces(LabRecord record, string node) =>
        record.Plan.Links.SelectMany(LinkTypes.NodeEnds).Where(e => e.Node == node).Select(e => e.Interface)
            .Concat(IsLtbWired(record.Plan, record.Mgmt, node) ? [Names.MgmtInterface] : []).ToList();

    public static bool IsLtbWired(LabPlan plan, MgmtState? mgmt, string node) =>
        mgmt?.Nodes.ContainsKey(node) == true && plan.Nodes.FirstOrDefault(n => n.Name == node) is { } n && MgmtAttachments.Of(plan, n) == MgmtAttachment.Veth;

    public static LabStatus Absent(string lab, LinkBackend backend) => new(lab, LabState.Absent, backend, null, null, null, [], []);

    public static CancellationTokenSource Timed(TimeSpan timeout, CancellationToken ct)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        return cts;
    }

    public static void Report(IProgress<RuntimeEvent>? progress, string lab, string? node, string message, RuntimeEventKind kind = RuntimeEventKind.Info) =>
        progress?.Report(new RuntimeEvent(DateTimeOffset.UtcNow, lab, node, kind, message));

    public static async Task<IDisposable> LockAsync(string lab, CancellationToken ct)
    {
        var gate = LabLocks.GetOrAdd(lab, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        return new Releaser(gate);
    }

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}
