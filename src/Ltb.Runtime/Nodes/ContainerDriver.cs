using System.Collections.Concurrent;
using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Topology.Catalog;
using NodeStatus = Ltb.Runtime.Status.NodeStatus;

namespace Ltb.Runtime.Nodes;

/// <summary>
/// The container node driver: every Docker call about nodes (images, create, start, stop, remove, inspect, exec, logs,
/// stats). The create parameters and lifecycle details are in <see cref="ContainerNodes"/>; the management network's
/// Docker side is <see cref="MgmtNetworks"/>. Engine refusals become <see cref="LabRuntimeException"/>s naming the node.
/// </summary>
public sealed class ContainerDriver : INodeDriver
{
    private readonly DockerEngine _engine;
    private readonly ContainerNodes _nodes;
    private readonly ContainerSnapshots _snapshots;

    public ContainerDriver(DockerEngine engine, LabStateStore store)
    {
        _engine = engine;
        _nodes = new ContainerNodes(engine, store);
        _snapshots = new ContainerSnapshots(engine);
    }

    public NodeRuntime Runtime => NodeRuntime.Container;

    public NodeCapabilities Capabilities => NodeCapabilities.Stats | NodeCapabilities.Snapshot;

    public async Task PrepareAsync(LabPlan plan, IReadOnlyList<NodePlan> nodes, DeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct)
    {
        var lab = plan.LabName;
        foreach (var group in nodes.GroupBy(n => n.Image))
        {
            if (await ImagePresentAsync(group.Key, ct))
            {
                continue;
            }
            var who = string.Join(", ", group.Select(n => n.Name));
            if (options.Pull == PullPolicy.Never)
            {
                throw new LabRuntimeException(lab, group.First().Name,
                    $"image '{group.Key}' (needed by {who}) is not present on this host and the pull policy is Never; build or pull it (docker pull {group.Key}), then deploy again");
            }
            progress?.Report(new RuntimeEvent(DateTimeOffset.UtcNow, lab, null, RuntimeEventKind.Info, $"pulling {group.Key}"));
            try
            {
                using var pull = CancellationTokenSource.CreateLinkedTokenSource(ct);
                pull.CancelAfter(options.DockerTimeout * 10);
                await _engine.Client.Images.CreateImageAsync(new ImagesCreateParameters { FromImage = group.Key }, null, new Progress<JSONMessage>(), pull.Token);
            }
            catch (Exception e) when (e is DockerApiException or HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                throw new LabRuntimeException(lab, group.First().Name,
                    $"image '{group.Key}' (needed by {who}) is not present on this host and could not be pulled ({(e is DockerApiException d ? ContainerNodes.DockerMessage(d) : e.Message)}); build it locally or make its registry reachable", e);
            }
        }
    }

    private async Task<bool> ImagePresentAsync(string image, CancellationToken ct)
    {
        try
        {
            await _engine.Client.Images.InspectImageAsync(image, ct);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
    }

    public async Task<string?> IsolationWarningAsync(CancellationToken ct) =>
        (await _engine.IsolationAsync(ct)).Warning("this lab host");

    public async Task CreateAsync(LabPlan plan, NodePlan node, MgmtState? mgmt, CancellationToken ct)
    {
        await _nodes.CreateAsync(plan, node, mgmt, ct);
        if (node.Restore is { } archive)
        {
            await _snapshots.RestoreAsync(plan.LabName, node.Name, archive, ct);
        }
    }

    public Task SnapshotAsync(NodeSnapshotRequest request, Stream output, CancellationToken ct) => Refusing(request.Lab, request.Node, async () =>
    {
        await _snapshots.WriteAsync(request, (command, timeout, limit, t) => ExecAsync(request.Lab, request.Node, command, timeout, limit, t), output, ct);
        return true;
    });

    public async Task<NodeNamespace> StartAsync(string lab, NodePlan node, CancellationToken ct) =>
        new(await _nodes.StartAsync(lab, node, ct));

    public async Task<NodeNamespace> NamespaceAsync(string lab, string node, CancellationToken ct) =>
        new(await Refusing(lab, node, () => _nodes.RunningPidAsync(lab, node, ct)));

    public Task<bool> IsRunningAsync(string lab, string node, CancellationToken ct) => Refusing(lab, node, async () =>
        (await _engine.Client.Containers.InspectContainerAsync(Names.Container(lab, node), ct)).State?.Running == true);

    public Task EnsureRunningAsync(string lab, string node, NodeNamespace ns, CancellationToken ct) =>
        Refusing(lab, node, async () => { await _nodes.EnsureStillRunningAsync(lab, node, ns.Pid, ct); return true; });

    public Task StopAsync(string lab, string node, TimeSpan grace, CancellationToken ct) =>
        Refusing(lab, node, async () => { await _nodes.StopAsync(lab, node, grace, ct); return true; });

    public async Task<IReadOnlyList<DriverNode>> ListAsync(string lab, CancellationToken ct) =>
        (await _nodes.ListAsync(lab, ct)).Select(c => new DriverNode(c.Labels.TryGetValue(Names.NodeLabel, out var n) ? n : null, c.ID)).ToList();

    public async Task<IReadOnlyList<string>> ListLabsAsync(CancellationToken ct)
    {
        var containers = await _engine.Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [Names.LabLabel] = true } },
        }, ct);
        return containers.Select(c => c.Labels[Names.LabLabel]).Distinct(StringComparer.Ordinal).ToList();
    }

    public Task RemoveAsync(string lab, DriverNode node, CancellationToken ct) =>
        Refusing(lab, node.Name, async () => { await _nodes.RemoveAsync(node.Id, ct); return true; });

    public async Task<IReadOnlyList<NodeStatus>> InspectAsync(string lab, CancellationToken ct)
    {
        var containers = await _nodes.ListAsync(lab, ct);
        var nodes = new ConcurrentBag<NodeStatus>();
        await Parallel.ForEachAsync(containers, ct, async (c, t) =>
        {
            try
            {
                nodes.Add(Status(c, await _engine.Client.Containers.InspectContainerAsync(c.ID, t)));
            }
            catch (DockerContainerNotFoundException)
            {
                // Removed while listed.
            }
        });
        return nodes.ToList();
    }

    private static NodeStatus Status(ContainerListResponse c, ContainerInspectResponse i)
    {
        var name = c.Labels.TryGetValue(Names.NodeLabel, out var n) ? n : c.Names.First().TrimStart('/');
        var state = StateOf(i);
        var ep = i.NetworkSettings?.Networks?.Values.FirstOrDefault();
        // LTB-wired nodes have no Docker endpoint: their addresses are in their labels (Docker-attached ones have both).
        return new NodeStatus(name, i.Name.TrimStart('/'), i.ID, c.Labels.TryGetValue(Names.ImageLabel, out var img) ? img : c.Image, state,
            Label(c, Names.MgmtIpv4Label) ?? NullIfEmpty(ep?.IPAddress), Label(c, Names.MgmtIpv6Label) ?? NullIfEmpty(ep?.GlobalIPv6Address),
            i.State?.Pid is > 0 ? (int)i.State.Pid : null, [],
            state == NodeState.Exited ? $"exit code {i.State?.ExitCode} {i.State?.Error}".Trim() : null, Published(i));
    }

    /// <summary>The ports the engine published for a running node (what a user connects to), in a stable order.</summary>
    private static List<PublishedPort> Published(ContainerInspectResponse i) =>
        (i.NetworkSettings?.Ports ?? new Dictionary<string, IList<PortBinding>>())
            .Where(kv => kv.Value is not null)
            .SelectMany(kv => kv.Value.Select(b => (Key: kv.Key.Split('/'), Binding: b)))
            .Where(x => x.Key.Length == 2 && int.TryParse(x.Key[0], CultureInfo.InvariantCulture, out _)
                && int.TryParse(x.Binding.HostPort, CultureInfo.InvariantCulture, out _))
            .Select(x => new PublishedPort(x.Binding.HostIP is null or "" ? "0.0.0.0" : x.Binding.HostIP,
                int.Parse(x.Binding.HostPort, CultureInfo.InvariantCulture), int.Parse(x.Key[0], CultureInfo.InvariantCulture), x.Key[1]))
            .OrderBy(p => p.NodePort).ThenBy(p => p.Protocol, StringComparer.Ordinal).ThenBy(p => p.HostIp, StringComparer.Ordinal).ToList();

    public async Task<ExecResult> ExecAsync(string lab, string node, IReadOnlyList<string> command, TimeSpan timeout, long limitBytes, CancellationToken ct)
    {
        try
        {
            return await _engine.ExecAsync(Names.Container(lab, node), command, timeout, limitBytes, ct);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new NodeExecException(lab, node, $"the command did not finish within {timeout.TotalSeconds:0} s", timedOut: true, e);
        }
        catch (DockerApiException e)
        {
            throw new NodeExecException(lab, node, $"the command cannot run: {ContainerNodes.DockerMessage(e)}", timedOut: false, e);
        }
    }

    public async Task<IExecSession> OpenExecSessionAsync(ExecSessionRequest request, CancellationToken ct)
    {
        try
        {
            return await InteractiveExec.StartAsync(_engine, Names.Container(request.Lab, request.Node), request.Command, request.Tty,
                request.Size, ct);
        }
        catch (DockerApiException e)
        {
            throw new NodeExecException(request.Lab, request.Node, $"the command cannot run: {ContainerNodes.DockerMessage(e)}", timedOut: false, e);
        }
    }

    public async Task<bool> StreamLogsAsync(string lab, string node, int? tail, bool follow, long? limitBytes,
        Func<string, CancellationToken, ValueTask> write, CancellationToken ct)
    {
        try
        {
            return await _nodes.StreamLogsAsync(lab, node, tail, follow, limitBytes, write, ct);
        }
        catch (DockerApiException e)
        {
            throw new LabRuntimeException(lab, node, $"its output cannot be read: {ContainerNodes.DockerMessage(e)}", e);
        }
    }

    public Task RefreshNamesAsync(LabPlan plan, string node, MgmtState mgmt, IReadOnlySet<string> names, CancellationToken ct) =>
        Refusing(plan.LabName, node, async () => { await _nodes.RefreshHostsAsync(plan, node, mgmt, names, ct); return true; });

    /// <summary>One reading from the engine (one-shot: no second sample for a CPU rate, so it answers at once).</summary>
    public Task<NodeStats> StatsAsync(string lab, string node, CancellationToken ct) => Refusing(lab, node, async () =>
    {
        ContainerStatsResponse? reading = null;
        await _engine.Client.Containers.GetContainerStatsAsync(Names.Container(lab, node),
            new ContainerStatsParameters { Stream = false, OneShot = true }, new SyncProgress<ContainerStatsResponse>(r => reading = r), ct);
        if (reading is null)
        {
            throw new LabRuntimeException(lab, node, "the engine gave no resource reading for the node");
        }
        var limit = reading.MemoryStats?.Limit;
        return new NodeStats(node, reading.Read == default ? DateTimeOffset.UtcNow : new DateTimeOffset(reading.Read.ToUniversalTime()),
            reading.CPUStats?.CPUUsage?.TotalUsage ?? 0, reading.MemoryStats?.Usage ?? 0, limit is > 0 and < long.MaxValue ? limit : null,
            reading.PidsStats?.Current ?? 0);
    });

    /// <summary>
    /// The container as the engine has it: its image's id and registry digests, when it started, and the size of its
    /// writable layer (the engine measures it for this call only: it walks the layer, so usage sampling does not ask it).
    /// </summary>
    public Task<NodeDescription> DescribeAsync(string lab, string node, CancellationToken ct) => Refusing(lab, node, async () =>
    {
        var i = await _engine.Client.Containers.InspectContainerAsync(Names.Container(lab, node), new ContainerInspectParameters { IncludeSize = true }, ct);
        IReadOnlyList<string> digests = [];
        try
        {
            digests = (await _engine.Client.Images.InspectImageAsync(i.Image, ct)).RepoDigests?.ToList() ?? [];
        }
        catch (DockerImageNotFoundException)
        {
            // The image was removed while the container runs: its id is all there is.
        }
        var state = StateOf(i);
        var image = i.Config?.Labels is { } labels && labels.TryGetValue(Names.ImageLabel, out var img) ? img : i.Config?.Image ?? i.Image;
        DateTimeOffset? started = state == NodeState.Running && i.State?.StartedAt is { } at
            && DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;
        return new NodeDescription(node, state, image, i.Image, digests, started, i.SizeRw);
    });

    /// <summary>The engine's refusal of an operation on a node, as a failure naming lab and node.</summary>
    private static async Task<T> Refusing<T>(string lab, string? node, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (DockerContainerNotFoundException e)
        {
            throw new LabRuntimeException(lab, node, "the node's container does not exist on this host (removed outside LTB?); destroy and deploy the lab again", e);
        }
        catch (DockerApiException e)
        {
            throw new LabRuntimeException(lab, node, $"the Docker engine refused: {ContainerNodes.DockerMessage(e)}", e);
        }
    }

    private static NodeState StateOf(ContainerInspectResponse i) => i.State switch
    {
        { Running: true } => NodeState.Running,
        { Status: "created" } => NodeState.Created,
        { ExitCode: 0 } => NodeState.Stopped,
        _ => NodeState.Exited,
    };

    private static string? Label(ContainerListResponse c, string key) => c.Labels.TryGetValue(key, out var v) ? v : null;

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the pool and race the return).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

/// <summary>A command could not run in a node, or did not finish in time (<see cref="TimedOut"/>); the cause says which.</summary>
public sealed class NodeExecException(string lab, string node, string cause, bool timedOut, Exception? inner = null)
    : LabRuntimeException(lab, node, cause, inner)
{
    public bool TimedOut { get; } = timedOut;
}
