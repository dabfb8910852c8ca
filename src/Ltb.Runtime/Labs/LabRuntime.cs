using Ltb.Runtime.Docker;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using NodeStatus = Ltb.Runtime.Status.NodeStatus;

namespace Ltb.Runtime.Labs;

/// <summary>
/// Turns a <see cref="LabPlan"/> into nodes and links on this host, and removes them again: the one entry point of the
/// host runtime. The work is in <see cref="LabDeployment"/>, <see cref="LabApply"/>, <see cref="LabDestruction"/>,
/// <see cref="LabInspection"/> and <see cref="NodeOperations"/>; nodes are run by the <see cref="INodeDriver"/> of their
/// runtime. Every node is labelled with the lab and node, every host-side interface carries the alias
/// <c>ltb/LAB/...</c>, every OVS bridge the external id <c>ltb-lab=LAB</c>, every node namespace is pinned as
/// <c>/run/netns/ltb-LAB-NODE</c>: destroy and inspect work from those alone, also for a half-deployed lab.
/// </summary>
public sealed class LabRuntime
{
    private readonly LabContext _context;
    private readonly LabDeployment _deploy;
    private readonly LabApply _apply;
    private readonly LabDestruction _destroy;
    private readonly LabInspection _inspect;
    private readonly NodeOperations _nodes;
    private readonly NodeDescriptions _descriptions;
    private readonly Usage.UsageSampler _usage;
    private readonly Capture.PacketCapture _capture;
    private readonly Capture.MirrorInterfaces _mirrors;
    private readonly HostLeftovers _leftovers;

    /// <summary>The runtime of a host with a Docker engine: the container driver and Docker management networks.</summary>
    public LabRuntime(DockerEngine engine, IHostNetwork? network = null, RuntimeOptions? options = null)
        : this(Docker(engine, network ?? new HostNetwork(), options ?? new RuntimeOptions()))
    {
    }

    /// <summary>A runtime with the given node drivers and host (the fake-host tests, and hosts with more runtimes).</summary>
    public LabRuntime(IEnumerable<INodeDriver> drivers, IMgmtNetworks mgmt, IHostNetwork network, RuntimeOptions options)
        : this(new LabContext(new NodeDrivers(drivers), network, mgmt, new LabStateStore(options.StateDirectory)))
    {
    }

    private LabRuntime(LabContext context)
    {
        _context = context;
        _inspect = new LabInspection(context);
        _destroy = new LabDestruction(context);
        var wiring = new LabWiring(context);
        _deploy = new LabDeployment(context, wiring, _destroy, _inspect);
        _apply = new LabApply(context, _deploy, wiring, _destroy, _inspect);
        _nodes = new NodeOperations(context, _inspect);
        _descriptions = new NodeDescriptions(context);
        _usage = new Usage.UsageSampler(context.Drivers, context.Store.Root);
        _capture = new Capture.PacketCapture(context);
        _mirrors = new Capture.MirrorInterfaces(context);
        _leftovers = new HostLeftovers(context, _destroy);
    }

    /// <summary>The one place where a host's node drivers are registered (add a runtime's driver here).</summary>
    private static LabContext Docker(DockerEngine engine, IHostNetwork net, RuntimeOptions options)
    {
        var store = new LabStateStore(options.StateDirectory);
        return new(new NodeDrivers([
            new ContainerDriver(engine, store),
            new VmDriver(net, options.EffectiveVmDirectory, options.EffectiveVmImageDirectory, options.VmImageCacheDirectory),
        ]), net, new MgmtNetworks(engine, net), store);
    }

    public string StateDirectory => _context.Store.Root;

    /// <summary>The node drivers of this host (what it can run: <see cref="NodeDrivers.Kinds"/>).</summary>
    public NodeDrivers Drivers => _context.Drivers;

    public Task<LabStatus> DeployAsync(LabPlan plan, IProgress<RuntimeEvent>? progress = null, DeployOptions? options = null, CancellationToken ct = default) =>
        _deploy.DeployAsync(plan, progress, options ?? new DeployOptions(), ct);

    /// <summary>
    /// Brings a running lab to <paramref name="plan"/>: removes nodes and links that are gone, recreates nodes whose
    /// definition changed (and their links), adds new ones; unchanged nodes keep running untouched.
    /// </summary>
    public Task<LabStatus> ApplyAsync(LabPlan plan, IProgress<RuntimeEvent>? progress = null, DeployOptions? options = null, CancellationToken ct = default) =>
        _apply.ApplyAsync(plan, progress, options ?? new DeployOptions(), ct);

    /// <summary>Removes everything the lab created (nodes, namespaces, host interfaces, OVS bridges, networks, files). Works on half-deployed labs.</summary>
    public async Task DestroyAsync(string labName, IProgress<RuntimeEvent>? progress = null, CancellationToken ct = default)
    {
        using var _ = await LabContext.LockAsync(labName, ct);
        await _destroy.DestroyAsync(labName, progress, ct);
    }

    public Task<IReadOnlyList<string>> ListLabsAsync(CancellationToken ct = default) => _inspect.ListLabsAsync(ct);

    /// <summary>Every lab on this host with what it holds, found from LTB's marks alone (`ltb host prune`).</summary>
    public Task<IReadOnlyList<HostLab>> SurveyHostAsync(CancellationToken ct = default) => _leftovers.SurveyAsync(ct);

    /// <summary>Removes all <paramref name="lab"/> holds on this host (a lab no controller knows any more).</summary>
    public async Task PruneAsync(HostLab lab, CancellationToken ct = default)
    {
        using var _ = await LabContext.LockAsync(lab.Lab, ct);
        await _leftovers.PruneAsync(lab, ct);
    }

    /// <summary>The lab as the drivers and the host see it now (nodes by label, interfaces in the pinned namespaces).</summary>
    public Task<LabStatus> InspectAsync(string labName, CancellationToken ct = default) => _inspect.InspectAsync(labName, ct);

    /// <summary>Stops a node; its interfaces stay in its pinned namespace (set down, so the peers lose carrier).</summary>
    public Task<NodeStatus> StopNodeAsync(string labName, string node, TimeSpan? timeout = null, CancellationToken ct = default) =>
        _nodes.StopAsync(labName, node, timeout, ct);

    /// <summary>Starts a stopped node: its interfaces move into its new namespace, its exec commands run again.</summary>
    public Task<NodeStatus> StartNodeAsync(string labName, string node, CancellationToken ct = default) => _nodes.StartAsync(labName, node, ct);

    public Task<NodeStatus> RestartNodeAsync(string labName, string node, CancellationToken ct = default) => _nodes.RestartAsync(labName, node, ct);

    /// <summary>Takes a link down or up; both ends see the carrier change.</summary>
    public Task SetLinkStateAsync(string labName, string node, string iface, bool up, CancellationToken ct = default) =>
        _nodes.SetLinkStateAsync(labName, node, iface, up, ct);

    /// <summary>Limits the link's rate in both directions (tc tbf on each node-side end); null removes the limit.</summary>
    public Task SetLinkRateAsync(string labName, string node, string iface, long? kbitPerSecond, CancellationToken ct = default) =>
        _nodes.SetLinkRateAsync(labName, node, iface, kbitPerSecond, ct);

    /// <summary>
    /// Streams what a node wrote to its stdout and stderr (as the engine keeps it, interleaved): the last
    /// <paramref name="tail"/> lines (null: all), then with <paramref name="follow"/> what it writes until the caller
    /// cancels or the node stops. A stopped node still has its output.
    /// </summary>
    public Task<bool> StreamNodeLogsAsync(string labName, string node, int? tail, bool follow, long? limitBytes,
        Func<string, CancellationToken, ValueTask> write, CancellationToken ct = default) =>
        _nodes.StreamLogsAsync(labName, node, tail, follow, limitBytes, write, ct);

    /// <summary>Runs a command (an argument vector) in a running node, output capped at <paramref name="limitBytes"/>.</summary>
    public Task<ExecResult> ExecAsync(string labName, string node, IReadOnlyList<string> command, TimeSpan timeout, long limitBytes,
        CancellationToken ct = default) => _nodes.ExecAsync(labName, node, command, timeout, limitBytes, ct);

    /// <summary>Starts an interactive command (stdin open, optionally a terminal) in a running node.</summary>
    public Task<IExecSession> OpenExecSessionAsync(ExecSessionRequest request, CancellationToken ct = default) =>
        _nodes.OpenExecSessionAsync(request, ct);

    /// <summary>Opens the console of a running node whose driver offers one (a VM's serial console).</summary>
    public Task<IExecSession> OpenConsoleAsync(string labName, string node, TerminalSize size, CancellationToken ct = default) =>
        _nodes.OpenExecSessionAsync(new ExecSessionRequest(labName, node, [], true, size) { NodeConsole = true }, ct);

    /// <summary>One reading of a node's resource use (where its driver offers it; else a failure naming node and runtime).</summary>
    public Task<NodeStats> NodeStatsAsync(string labName, string node, CancellationToken ct = default) => _nodes.StatsAsync(labName, node, ct);

    /// <summary>
    /// Saves a running node's state (issue #15): its save-config command, then what differs from its image, as the
    /// tar stream <see cref="NodeSnapshotStream"/> describes, in pieces to <paramref name="write"/>. Restoring is a
    /// deployment whose plan names the saved archive (<see cref="Plan.NodePlan.Restore"/>).
    /// </summary>
    public async Task SnapshotNodeAsync(NodeSnapshotRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write,
        CancellationToken ct = default)
    {
        using var _ = await LabContext.LockAsync(request.Lab, ct);
        await _nodes.SnapshotAsync(request, write, ct);
    }

    /// <summary>A node described by this host: image and digest, uptime, disk, labels, interfaces with addresses and counters, startup configuration.</summary>
    public Task<NodeDetails> DescribeNodeAsync(string labName, string node, CancellationToken ct = default) =>
        _descriptions.DescribeAsync(labName, node, ct);

    /// <summary>A sample of the host's and these labs' resource use (<see cref="Usage.UsageSampler"/>: at most 2 s old).</summary>
    public Task<HostUsage> SampleUsageAsync(IReadOnlyList<string> labNames, CancellationToken ct = default) => _usage.SampleAsync(labNames, ct);

    /// <summary>
    /// Captures a node's interface (tcpdump in the node's namespace): pcap bytes to <paramref name="write"/>, the first
    /// piece empty once it runs, until <paramref name="ct"/> is cancelled (the process is killed then). A filter libpcap
    /// refuses is an <see cref="Capture.InvalidCaptureFilterException"/>.
    /// </summary>
    public Task CaptureAsync(Capture.PacketCaptureRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write,
        CancellationToken ct = default) => _capture.CaptureAsync(request, write, ct);

    /// <summary>
    /// Creates a mirror interface (<see cref="Capture.MirrorInterfaces"/>): it receives a copy of both directions of the
    /// traffic of the link end NODE:IFACE, which keeps forwarding unchanged.
    /// </summary>
    public async Task<Capture.MirrorStatus> CreateMirrorAsync(Capture.MirrorRequest request, CancellationToken ct = default)
    {
        using var _ = await LabContext.LockAsync(request.Lab, ct);
        return await _mirrors.CreateAsync(request, ct);
    }

    /// <summary>Removes a mirror interface by name (the lab's destroy removes them all).</summary>
    public async Task<Capture.MirrorStatus> RemoveMirrorAsync(string labName, string name, CancellationToken ct = default)
    {
        using var _ = await LabContext.LockAsync(labName, ct);
        return await _mirrors.RemoveAsync(labName, name, ct);
    }
}
