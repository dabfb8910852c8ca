using System.Text;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes.Vm;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Topology.Catalog;
using NodeStatus = Ltb.Runtime.Status.NodeStatus;

namespace Ltb.Runtime.Nodes;

/// <summary>
/// The VM node driver: one QEMU process per node (<see cref="VmNodes"/>), controlled over QMP (<see cref="QmpClient"/>),
/// booted from the host's VM image library (<see cref="VmImages"/>) or from the qcow2 inside a vrnetlab container image
/// (<see cref="VrnetlabDisks"/>). QEMU runs in a network namespace of its own that
/// the orchestration pins like a container's; the wiring puts link ends and eth0 there, and
/// <see cref="InterfacesWiredAsync"/> joins each to its tap (<see cref="VmTaps"/>), so every link type and backend
/// reaches a VM unchanged. KVM where a test guest really runs, else TCG with a warning and a longer readiness budget.
/// </summary>
public sealed class VmDriver : INodeDriver
{
    private readonly VmNodes _nodes;
    private readonly IHostNetwork _host;
    private readonly VmDiskSnapshots _disks;

    /// <param name="root">Where the VM nodes' files live (<see cref="VmNodeFiles"/>).</param>
    /// <param name="imageLibrary">The host's VM image library (<see cref="VmImages"/>).</param>
    /// <param name="controllerImages">The controller's VM images on this host, searched first (<see cref="VmImageLibrary"/>).</param>
    /// <param name="containerImages">Disks taken from container images of this host (vrnetlab), when the library has no image of the name.</param>
    public VmDriver(IHostNetwork host, string root, string imageLibrary, string? controllerImages = null, VrnetlabDisks? containerImages = null)
    {
        _host = host;
        _nodes = new VmNodes(root, new VmDisks(new VmImages(imageLibrary, controllerImages), containerImages), host);
        _disks = new VmDiskSnapshots(host);
    }

    public NodeRuntime Runtime => NodeRuntime.Vm;

    public NodeCapabilities Capabilities => NodeCapabilities.Stats | NodeCapabilities.Console | NodeCapabilities.Snapshot | NodeCapabilities.Display;

    private Task<(VmAccelerator Accelerator, string Reason)> AcceleratorAsync(CancellationToken ct) => KvmProbe.ProbeAsync(_nodes.Root, ct);

    public async Task PrepareAsync(LabPlan plan, IReadOnlyList<NodePlan> nodes, DeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct)
    {
        var lab = plan.LabName;
        ProcessResult version;
        try
        {
            version = await _host.RunAsync(QemuCommandLine.Binary, ["--version"], null, TimeSpan.FromSeconds(30), ct);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or HostNetworkException)
        {
            version = new ProcessResult(127, "", e.Message);
        }
        if (!version.Succeeded)
        {
            throw new LabRuntimeException(lab, nodes[0].Name,
                $"this host cannot run VM nodes: {QemuCommandLine.Binary} is not installed (apt-get install qemu-system-x86 qemu-utils, or scripts/prepare-host.sh)");
        }
        foreach (var n in nodes)
        {
            // Every node's image is found now, before anything is created; a vrnetlab image's disk is extracted here, once.
            await _nodes.Disks.ResolveAsync(lab, n.Name, n.Vm?.Disk ?? n.Image, options.Pull, options.DockerTimeout * 10,
                m => progress?.Report(new RuntimeEvent(DateTimeOffset.UtcNow, lab, n.Name, RuntimeEventKind.Info, m)), ct);
        }
        var (accelerator, reason) = await AcceleratorAsync(ct);
        if (accelerator == VmAccelerator.Tcg)
        {
            progress?.Report(new RuntimeEvent(DateTimeOffset.UtcNow, lab, null, RuntimeEventKind.Warning,
                $"KVM is not usable on this host ({reason}): {nodes.Count} VM node(s) run under TCG emulation, much slower; their readiness " +
                $"timeouts are {VmNodes.TcgReadinessFactor} times their node types'"));
        }
    }

    public Task<string?> IsolationWarningAsync(CancellationToken ct) => Task.FromResult<string?>(null);

    public async Task CreateAsync(LabPlan plan, NodePlan node, MgmtState? mgmt, CancellationToken ct) =>
        await _nodes.CreateAsync(plan, node, mgmt, (await AcceleratorAsync(ct)).Accelerator, ct);

    public async Task<NodeNamespace> StartAsync(string lab, NodePlan node, CancellationToken ct) => new(await _nodes.StartAsync(lab, node.Name, ct));

    public Task<NodeNamespace> NamespaceAsync(string lab, string node, CancellationToken ct)
    {
        _nodes.Record(lab, node);
        var files = _nodes.Files(lab, node);
        return files.RunningPid() is { } pid ? Task.FromResult(new NodeNamespace(pid))
            : throw new LabRuntimeException(lab, node, $"its VM does not run; the console's last lines: {files.ConsoleTail(300).ReplaceLineEndings(" | ")}");
    }

    public Task<bool> IsRunningAsync(string lab, string node, CancellationToken ct)
    {
        _nodes.Record(lab, node);
        return Task.FromResult(_nodes.Files(lab, node).RunningPid() is not null);
    }

    public Task EnsureRunningAsync(string lab, string node, NodeNamespace ns, CancellationToken ct)
    {
        var status = _nodes.Status(_nodes.Record(lab, node));
        return status.Pid == ns.Pid ? Task.CompletedTask
            : throw new LabRuntimeException(lab, node, status.Error ?? $"its VM is {status.State.ToString().ToLowerInvariant()}");
    }

    public async Task InterfacesWiredAsync(LabPlan plan, NodePlan node, IReadOnlyList<string> interfaces, CancellationToken ct)
    {
        var ns = Names.Netns(plan.LabName, node.Name);
        try
        {
            await _host.IpBatchAsync(ns, VmTaps.IpLines(interfaces).ToList(), force: false, ct);
            await _host.TcBatchAsync(ns, VmTaps.TcRemoveLines(interfaces).ToList(), force: true, ct);
            await _host.TcBatchAsync(ns, VmTaps.TcAddLines(interfaces).ToList(), force: false, ct);
        }
        catch (HostNetworkException e)
        {
            throw new LabRuntimeException(plan.LabName, node.Name, $"its interfaces could not be joined to the VM's cards: {e.Message}", e);
        }
        await VmReadiness.WaitAsync(_nodes.Files(plan.LabName, node.Name), _nodes.Record(plan.LabName, node.Name), ct);
    }

    public Task StopAsync(string lab, string node, TimeSpan grace, CancellationToken ct) => _nodes.StopAsync(lab, node, grace, ct);

    public Task<IReadOnlyList<DriverNode>> ListAsync(string lab, CancellationToken ct)
    {
        var folder = Path.Combine(_nodes.Root, lab);
        IReadOnlyList<DriverNode> found = Directory.Exists(folder)
            ? Directory.GetDirectories(folder).Select(d => new DriverNode(Path.GetFileName(d), d)).ToList()
            : [];
        return Task.FromResult(found);
    }

    public Task<IReadOnlyList<string>> ListLabsAsync(CancellationToken ct)
    {
        IReadOnlyList<string> labs = Directory.Exists(_nodes.Root)
            ? Directory.GetDirectories(_nodes.Root).Where(d => Directory.EnumerateDirectories(d).Any()).Select(d => Path.GetFileName(d)).ToList()
            : [];
        return Task.FromResult(labs);
    }

    public Task RemoveAsync(string lab, DriverNode node, CancellationToken ct) =>
        _nodes.RemoveAsync(lab, node.Name ?? Path.GetFileName(node.Id), ct);

    public async Task<IReadOnlyList<NodeStatus>> InspectAsync(string lab, CancellationToken ct) =>
        (await ListAsync(lab, ct)).Select(n => _nodes.Files(lab, n.Name!).Load()).OfType<VmNodeRecord>().Select(_nodes.Status).ToList();

    /// <summary>Over SSH where the node type says so (<see cref="VmGuestExec"/>).</summary>
    public Task<ExecResult> ExecAsync(string lab, string node, IReadOnlyList<string> command, TimeSpan timeout, long limitBytes, CancellationToken ct) =>
        VmGuestExec.RunAsync(_nodes.Files(lab, node), _nodes.Record(lab, node), command, timeout, limitBytes, ct);

    public Task<IExecSession> OpenExecSessionAsync(ExecSessionRequest request, CancellationToken ct) => throw NoExec(request.Lab, request.Node);

    private static NodeExecException NoExec(string lab, string node) =>
        new(lab, node, "an interactive command cannot run in a VM node (exec without a terminal runs over SSH where its node type says so); " +
            "open its serial console (ltb console) or SSH to its management address", timedOut: false);

    public async Task<IExecSession> OpenConsoleAsync(string lab, string node, TerminalSize size, CancellationToken ct)
    {
        await NamespaceAsync(lab, node, ct);
        try
        {
            return await SerialConsole.OpenAsync(_nodes.Files(lab, node), ct);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new LabRuntimeException(lab, node, $"its serial console cannot be reached: {e.Message}", e);
        }
    }

    /// <summary>The VM's screen: its VNC server's RFB stream (<see cref="VncDisplay"/>), for a node given a display.</summary>
    public async Task<IExecSession> OpenDisplayAsync(string lab, string node, CancellationToken ct)
    {
        if (!_nodes.Record(lab, node).Display)
        {
            throw new LabRuntimeException(lab, node, VncDisplay.NoDisplay(vm: true));
        }
        await NamespaceAsync(lab, node, ct);
        try
        {
            return await VncDisplay.OpenAsync(_nodes.Files(lab, node), ct);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new LabRuntimeException(lab, node, $"its display cannot be reached: {e.Message}", e);
        }
    }

    /// <summary>The serial console's log: the last <paramref name="tail"/> lines, then with <paramref name="follow"/> what follows.</summary>
    public Task<bool> StreamLogsAsync(string lab, string node, int? tail, bool follow, long? limitBytes,
        Func<string, CancellationToken, ValueTask> write, CancellationToken ct)
    {
        _nodes.Record(lab, node);
        return ConsoleLog.StreamAsync(_nodes.Files(lab, node), tail, follow, limitBytes, write, ct);
    }

    public Task RefreshNamesAsync(LabPlan plan, string node, MgmtState mgmt, IReadOnlySet<string> names, CancellationToken ct) => Task.CompletedTask;

    public Task<NodeStats> StatsAsync(string lab, string node, CancellationToken ct)
    {
        var record = _nodes.Record(lab, node);
        var usage = new VmCgroup(VmNodes.CgroupName(_nodes.Files(lab, node))).Usage()
                    ?? throw new LabRuntimeException(lab, node, "its VM does not run (no resource reading)");
        return Task.FromResult(new NodeStats(node, DateTimeOffset.UtcNow, usage.CpuNanoseconds, usage.Memory,
            (ulong)(record.MemoryBytes + VmCgroup.OverheadBytes), usage.Pids));
    }

    /// <summary>
    /// The node's disk state (<see cref="VmDiskSnapshots"/>): the guest paused while its overlay is copied (and, with
    /// <see cref="NodeSnapshotRequest.Memory"/>, its RAM state saved), then running again. Its node type's save-config command runs first where exec reaches the guest; a failure of it is a warning.
    /// Restoring is part of <see cref="CreateAsync"/> (<see cref="NodePlan.Restore"/>).
    /// </summary>
    public async Task SnapshotAsync(NodeSnapshotRequest request, Stream output, CancellationToken ct)
    {
        var (lab, node) = (request.Lab, request.Node);
        var record = _nodes.Record(lab, node);
        var image = await _nodes.Disks.PreparedAsync(lab, node, record.Image, ct);
        var warnings = new List<string>();
        if (request.SaveConfig is { Count: > 0 } save && record.Exec is not null)
        {
            var saved = await ExecAsync(lab, node, save, TimeSpan.FromSeconds(60), 1 << 20, ct);
            if (saved.ExitCode != 0)
            {
                warnings.Add($"'{string.Join(' ', save)}' ended with exit code {saved.ExitCode}");
            }
        }
        await _disks.WriteAsync(_nodes.Files(lab, node), record, image, Math.Min(request.LimitBytes, NodeSnapshotStream.HardLimitBytes), request.Memory,
            warnings, output, ct);
    }

    /// <summary>
    /// Device information of a VM node: its disk use is its overlay's size (what the guest wrote over its pristine base
    /// image; none for a guest booted from a kernel without a disk), and it runs since QEMU wrote its pid file.
    /// </summary>
    public async Task<NodeDescription> DescribeAsync(string lab, string node, CancellationToken ct)
    {
        var status = (await InspectAsync(lab, ct)).FirstOrDefault(n => n.Name == node)
            ?? throw new LabRuntimeException(lab, node, "no such node on this host");
        var files = _nodes.Files(lab, node);
        var overlay = new FileInfo(files.Overlay);
        DateTimeOffset? started = status.State == NodeState.Running && File.Exists(files.PidFile) ? File.GetLastWriteTimeUtc(files.PidFile) : null;
        return new NodeDescription(node, status.State, status.Image, null, [], started, overlay.Exists ? overlay.Length : 0);
    }
}
