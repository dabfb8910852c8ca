using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes.Vm;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Topology.Catalog;

namespace Ltb.Runtime.Nodes;

/// <summary>
/// A node's network namespace, as the host's wiring reaches it: a process running in it (the orchestration pins the
/// namespace as <c>/run/netns/ltb-LAB-NODE</c> from this pid and moves interfaces into it). A container's init; for a VM,
/// the process holding the namespace its tap interfaces live in.
/// </summary>
public sealed record NodeNamespace(long Pid);

/// <summary>A node of a lab as its driver finds it on the host (also half-created ones): its name when known, and its handle.</summary>
public sealed record DriverNode(string? Name, string Id);

/// <summary>One reading of a node's resource use (<see cref="INodeDriver.StatsAsync"/>).</summary>
/// <param name="CpuNanoseconds">CPU time used since the node started.</param>
/// <param name="MemoryLimitBytes">The node's memory limit (null: none).</param>
public sealed record NodeStats(string Node, DateTimeOffset At, ulong CpuNanoseconds, ulong MemoryBytes, ulong? MemoryLimitBytes, ulong Pids);

/// <summary>The optional operations a driver offers; the others answer with <see cref="NodeDrivers.NotSupported"/>.</summary>
[Flags]
public enum NodeCapabilities
{
    None = 0,
    /// <summary>One reading of CPU, memory and process counts (issue #16 builds usage on it).</summary>
    Stats = 1,
    /// <summary>An interactive console: the node's serial line or shell (issue #12).</summary>
    Console = 2,
    /// <summary>Saving a node's state under a name and starting from it (issue #15).</summary>
    Snapshot = 4,
    /// <summary>A graphical display (a VM's VNC server) for the nodes that have one (issue #14).</summary>
    Display = 8,
}

/// <summary>
/// Everything that runs a node of one <see cref="NodeRuntime"/> on this host: the orchestration (deploy, apply,
/// destroy, inspect, node operations in <c>Labs/</c>) never talks to Docker or QEMU itself, only to the driver the
/// node's <see cref="NodePlan.Runtime"/> picks (<see cref="NodeDrivers"/>). Links and management interfaces are the
/// orchestration's: a driver gives the node a network namespace (<see cref="StartAsync"/>) and the wiring does the rest.
/// Every call names the lab and node in its failures (<see cref="LabRuntimeException"/>) and has its own bound (the
/// caller's token carries the timeout).
/// </summary>
public interface INodeDriver
{
    NodeRuntime Runtime { get; }

    NodeCapabilities Capabilities { get; }

    /// <summary>Before anything of the lab is created: what the nodes need is on this host (images: pulled per the pull policy).</summary>
    Task PrepareAsync(LabPlan plan, IReadOnlyList<NodePlan> nodes, DeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct);

    /// <summary>A warning about how weakly this host isolates such nodes (e.g. no user-namespace remapping), or null.</summary>
    Task<string?> IsolationWarningAsync(CancellationToken ct);

    /// <summary>Creates the node (not started), labelled so that <see cref="ListAsync"/> and <see cref="InspectAsync"/> find it.</summary>
    /// <param name="mgmt">The management network with every node's addresses (what the node attaches to and resolves).</param>
    Task CreateAsync(LabPlan plan, NodePlan node, MgmtState? mgmt, CancellationToken ct);

    /// <summary>Starts a created or stopped node and returns its (new) network namespace; a node that exits at once is named with its output.</summary>
    Task<NodeNamespace> StartAsync(string lab, NodePlan node, CancellationToken ct);

    /// <summary>The namespace of the running node; fails naming the node when it does not run.</summary>
    Task<NodeNamespace> NamespaceAsync(string lab, string node, CancellationToken ct);

    /// <summary>Whether the node runs now (false: created, stopped or exited).</summary>
    Task<bool> IsRunningAsync(string lab, string node, CancellationToken ct);

    /// <summary>
    /// After the wiring put the node's <paramref name="interfaces"/> (link ends, an LTB-wired eth0) into its namespace, at
    /// deploy, apply and start: joins them to the node where its runtime needs that (a VM's taps), then waits until the
    /// node is ready as its type says (a VM's boot), failing at the type's timeout naming the node and the check.
    /// Containers need neither.
    /// </summary>
    Task InterfacesWiredAsync(LabPlan plan, NodePlan node, IReadOnlyList<string> interfaces, CancellationToken ct) => Task.CompletedTask;

    /// <summary>Fails, naming the node and how it ended, when the node started with <paramref name="ns"/> no longer runs.</summary>
    Task EnsureRunningAsync(string lab, string node, NodeNamespace ns, CancellationToken ct);

    /// <summary>Stops the node, killing it after <paramref name="grace"/>.</summary>
    Task StopAsync(string lab, string node, TimeSpan grace, CancellationToken ct);

    /// <summary>The lab's nodes this driver has on the host, whatever their state.</summary>
    Task<IReadOnlyList<DriverNode>> ListAsync(string lab, CancellationToken ct);

    /// <summary>The labs with at least one node of this driver on the host.</summary>
    Task<IReadOnlyList<string>> ListLabsAsync(CancellationToken ct);

    /// <summary>Removes a node whatever its state; an absent one is no error.</summary>
    Task RemoveAsync(string lab, DriverNode node, CancellationToken ct);

    /// <summary>The lab's nodes as the driver sees them now, without interfaces (the orchestration reads those in the namespaces).</summary>
    Task<IReadOnlyList<NodeStatus>> InspectAsync(string lab, CancellationToken ct);

    /// <summary>
    /// Runs an argument vector (never a shell string) in the running node, output capped at <paramref name="limitBytes"/>
    /// (clamped to <see cref="ContainerExec.HardLimitBytes"/>). Fails naming the node when it cannot run or time out.
    /// </summary>
    Task<ExecResult> ExecAsync(string lab, string node, IReadOnlyList<string> command, TimeSpan timeout, long limitBytes, CancellationToken ct);

    /// <summary>
    /// Streams the node's output: the last <paramref name="tail"/> lines, then with <paramref name="follow"/> what it
    /// writes; at most <paramref name="limitBytes"/> (true when cut there). The first piece written is empty (the stream is open).
    /// </summary>
    Task<bool> StreamLogsAsync(string lab, string node, int? tail, bool follow, long? limitBytes,
        Func<string, CancellationToken, ValueTask> write, CancellationToken ct);

    /// <summary>
    /// A node that keeps running through an apply learns the lab's node names as they are now (<paramref name="names"/>:
    /// every name the lab had or has). A runtime whose nodes resolve names otherwise does nothing.
    /// </summary>
    Task RefreshNamesAsync(LabPlan plan, string node, MgmtState mgmt, IReadOnlySet<string> names, CancellationToken ct);

    /// <summary>One reading of the node's resource use (<see cref="NodeCapabilities.Stats"/>).</summary>
    Task<NodeStats> StatsAsync(string lab, string node, CancellationToken ct) =>
        throw NodeDrivers.NotSupported(Runtime, lab, node, "report resource use");

    /// <summary>
    /// The node's image as the host resolved it, since when it runs and its disk use (device information, issue #16).
    /// A driver that knows no more than its status answers from <see cref="InspectAsync"/>.
    /// </summary>
    async Task<NodeDescription> DescribeAsync(string lab, string node, CancellationToken ct)
    {
        var status = (await InspectAsync(lab, ct)).FirstOrDefault(n => n.Name == node)
            ?? throw new LabRuntimeException(lab, node, "no such node on this host");
        return new NodeDescription(node, status.State, status.Image, null, [], null, null);
    }

    /// <summary>
    /// Starts a command in the running node with its standard input open, with or without a terminal (exec -i/-t). The
    /// session is the one shape of every interactive stream: a console (<see cref="OpenConsoleAsync"/>) is one too.
    /// </summary>
    Task<IExecSession> OpenExecSessionAsync(ExecSessionRequest request, CancellationToken ct);

    /// <summary>Opens the node's console, a terminal of <paramref name="size"/> (<see cref="NodeCapabilities.Console"/>).</summary>
    Task<IExecSession> OpenConsoleAsync(string lab, string node, TerminalSize size, CancellationToken ct) =>
        throw NodeDrivers.NotSupported(Runtime, lab, node, "open a console");

    /// <summary>
    /// Opens the node's graphical display: the raw RFB stream of its VNC server (<see cref="NodeCapabilities.Display"/>;
    /// only nodes given a display have one). Without one: a failure naming the node and how to give it one.
    /// </summary>
    Task<IExecSession> OpenDisplayAsync(string lab, string node, CancellationToken ct) =>
        throw new LabRuntimeException(lab, node, VncDisplay.NoDisplay(vm: false));

    /// <summary>
    /// Writes the running node's state to <paramref name="output"/> in the form of <see cref="NodeSnapshotStream"/>
    /// (<see cref="NodeCapabilities.Snapshot"/>); past the request's limit it fails naming the node. Restoring is part
    /// of <see cref="CreateAsync"/>: a plan's <see cref="NodePlan.Restore"/>.
    /// </summary>
    Task SnapshotAsync(NodeSnapshotRequest request, Stream output, CancellationToken ct) =>
        throw NodeDrivers.NotSupported(Runtime, request.Lab, request.Node, "take a snapshot");
}
