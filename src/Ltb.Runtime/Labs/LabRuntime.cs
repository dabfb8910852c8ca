using System.Collections.Concurrent;
using System.Text.Json;
using Docker.DotNet;
using Docker.DotNet.Models;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Links;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using NodeStatus = Ltb.Runtime.Status.NodeStatus;

namespace Ltb.Runtime.Labs;

/// <summary>
/// Turns a <see cref="LabPlan"/> into containers and links on this host, and removes them again. Every Docker object is
/// labelled with the lab and node, every host-side interface carries the alias <c>ltb/LAB/...</c>, every OVS bridge
/// the external id <c>ltb-lab=LAB</c>, every node namespace is pinned as <c>/run/netns/ltb-LAB-NODE</c>: destroy and
/// inspect work from those alone, also for a half-deployed lab.
/// </summary>
public sealed class LabRuntime
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> LabLocks = new(StringComparer.Ordinal);
    private readonly DockerEngine _engine;
    private readonly IHostNetwork _net;
    private readonly LabStateStore _store;
    private readonly ContainerNodes _nodes;
    private readonly MgmtNetworks _mgmt;

    public LabRuntime(DockerEngine engine, IHostNetwork? network = null, RuntimeOptions? options = null)
    {
        _engine = engine;
        _net = network ?? new HostNetwork();
        _store = new LabStateStore((options ?? new RuntimeOptions()).StateDirectory);
        _nodes = new ContainerNodes(engine, _store);
        _mgmt = new MgmtNetworks(engine, _net);
    }

    public string StateDirectory => _store.Root;

    // ---------------------------------------------------------------- deploy

    public async Task<LabStatus> DeployAsync(LabPlan plan, IProgress<RuntimeEvent>? progress = null, DeployOptions? options = null, CancellationToken ct = default)
    {
        options ??= new DeployOptions();
        PlanValidator.Validate(plan);
        var lab = plan.LabName;
        using var _ = await LockAsync(lab, ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.DeployTimeout);
        var token = timeout.Token;

        var existing = await _nodes.ListAsync(lab, token);
        if (existing.Count > 0 || (await _mgmt.ListAsync(lab, token)).Count > 0 || _store.Load(lab) is not null)
        {
            if (!options.Converge)
            {
                throw new LabRuntimeException(lab, null,
                    $"a lab with this name is already deployed on this host ({existing.Count} containers); destroy it first, apply the changed topology to it, or choose another name");
            }
            if (await DeployedAsAsync(plan, token) is { } current)
            {
                Report(progress, lab, null, "already deployed from this plan with every node running: kept as it is");
                return current;
            }
            Report(progress, lab, null, "removing what an earlier attempt left, then deploying again");
            await DestroyCoreAsync(lab, progress, token);
        }
        await PreflightAsync(plan, plan.Nodes, plan.Links, options, progress, token);
        // Before anything exists (checked again when the network is created, against a lab created meanwhile).
        await _mgmt.CheckPinnedAsync(plan, token);
        if ((await _engine.IsolationAsync(token)).Warning("this lab host") is { } unisolated)
        {
            progress?.Report(new RuntimeEvent(DateTimeOffset.UtcNow, lab, null, RuntimeEventKind.Warning, unisolated));
        }

        Report(progress, lab, null, $"deploying {plan.Nodes.Count} nodes and {plan.Links.Count} links ({plan.LinkBackend} backend)");
        var record = new LabRecord(plan, LabPhase.Deploying, null, null);
        try
        {
            _store.Save(record);
            var net = await _mgmt.CreateAsync(plan, options, token);
            net = net.WithNodes(MgmtAllocator.Allocate(plan, net, new Dictionary<string, MgmtAddresses>()));
            record = record with { MgmtBridge = net.Bridge, Mgmt = net };
            _store.Save(record);
            Report(progress, lab, null, $"management network {plan.MgmtNetworkName} ({net.Ipv4Subnet ?? "no IPv4"}) on {net.Bridge}");
            await CreateAndWireAsync(plan, plan.Nodes, plan.Links, [], net, options, progress, token);
            _store.Save(record with { Phase = LabPhase.Deployed });
            Report(progress, lab, null, "deployed");
            return await InspectAsync(lab, CancellationToken.None);
        }
        catch (Exception e)
        {
            throw await FailAsync(plan, record, e, options, timeout.IsCancellationRequested && !ct.IsCancellationRequested, ct.IsCancellationRequested, progress);
        }
    }

    /// <summary>The lab's status when it was deployed from <paramref name="plan"/> (the same plan, to the letter) and runs whole; else null.</summary>
    private async Task<LabStatus?> DeployedAsAsync(LabPlan plan, CancellationToken ct)
    {
        if (_store.Load(plan.LabName) is not { Phase: LabPhase.Deployed } record
            || JsonSerializer.Serialize(record.Plan, LabStateStore.Json) != JsonSerializer.Serialize(plan, LabStateStore.Json))
        {
            return null;
        }
        var status = await InspectAsync(plan.LabName, ct);
        return status.State == LabState.Running ? status : null;
    }

    private async Task<LabRuntimeException> FailAsync(LabPlan plan, LabRecord record, Exception e, DeployOptions options, bool timedOut,
        bool cancelled, IProgress<RuntimeEvent>? progress)
    {
        var lab = plan.LabName;
        var error = e switch
        {
            LabRuntimeException l => l,
            OperationCanceledException when timedOut => new LabRuntimeException(lab, null, $"the deploy did not finish within {options.DeployTimeout}", e),
            OperationCanceledException when cancelled => new LabRuntimeException(lab, null, "the deploy was cancelled", e),
            // Neither the caller nor the deploy's own timeout: one engine call ran into DockerTimeout.
            OperationCanceledException => new LabRuntimeException(lab, null,
                $"a Docker engine call did not answer within {options.DockerTimeout.TotalSeconds:0} s (the engine is overloaded or hung)", e),
            HostNetworkException h => new LabRuntimeException(lab, null, $"wiring failed: {h.Message}", e),
            DockerApiException d => new LabRuntimeException(lab, null, $"the Docker engine refused: {ContainerNodes.DockerMessage(d)}", e),
            _ => new LabRuntimeException(lab, null, e.Message, e),
        };
        Report(progress, lab, error.Node, error.Message, RuntimeEventKind.Error);
        LabStatus status;
        if (options.OnFailure == FailurePolicy.Rollback)
        {
            Report(progress, lab, null, "rolling back");
            await DestroyCoreAsync(lab, progress, CancellationToken.None);
            status = Absent(lab, plan.LinkBackend);
        }
        else
        {
            _store.Save(record with { Phase = LabPhase.Failed, Error = error.Message });
            status = await InspectAsync(lab, CancellationToken.None);
        }
        return new LabRuntimeException(error.Lab, error.Node, error.Cause, error.InnerException ?? e) { Status = status };
    }

    /// <summary>Checks what can be checked before anything is created: images, kernel link kinds, OVS.</summary>
    private async Task PreflightAsync(LabPlan plan, IEnumerable<NodePlan> nodes, IEnumerable<LinkPlan> links, DeployOptions options,
        IProgress<RuntimeEvent>? progress, CancellationToken ct)
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
            Report(progress, lab, null, $"pulling {group.Key}");
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
        var linkList = links.ToList();
        if (linkList.Any(l => l.Type == LinkType.Dummy) && !await _net.SupportsLinkKindAsync("dummy", ct))
        {
            var l = linkList.First(l => l.Type == LinkType.Dummy);
            throw new LabRuntimeException(lab, l.A.Node,
                $"link {l}: the dummy link type needs the Linux 'dummy' kernel module, which this host's kernel does not provide ('ip link add ... type dummy' fails); load it (modprobe dummy) or use a host whose kernel has it");
        }
        if (plan.LinkBackend == LinkBackend.Ovs && linkList.Any(l => l.Type == LinkType.Veth) && !await _net.OvsAvailableAsync(ct))
        {
            throw new LabRuntimeException(lab, null, "the OVS link backend needs Open vSwitch, which does not answer on this host (ovs-vsctl show fails); start it (scripts/prepare-host.sh) or choose the LinuxBridge or Veth backend");
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

    /// <summary>How long a node must have been running at the end of a deploy to count as started.</summary>
    private static readonly TimeSpan StartSettle = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Creates the containers of <paramref name="create"/> (bounded parallelism), then per wave: starts them, pins their
    /// namespaces, wires their management interfaces and every link whose ends are now all pinned (one batch), and runs
    /// the exec commands of nodes whose links are all up.
    /// </summary>
    private async Task CreateAndWireAsync(LabPlan plan, IReadOnlyList<NodePlan> create, IReadOnlyList<LinkPlan> wire,
        IReadOnlyCollection<string> alreadyPinned, MgmtState net, DeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct)
    {
        var lab = plan.LabName;
        var par = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.MaxParallelism), CancellationToken = ct };
        // Before any container: a VXLAN remote this host cannot reach fails the deploy at once.
        wire = await VxlanLink.ResolveUnderlayAsync(_net, wire, ct);
        if (wire.Any(l => l.Type == LinkType.Vxlan))
        {
            // Before any tunnel exists: its port takes packets from the peer hosts only.
            await TunnelFirewall.SyncAsync(_net, lab, TunnelFirewall.PeersOf(plan.Links), ct);
        }
        await Parallel.ForEachAsync(create, par, async (n, c) =>
        {
            using var t = Timed(options.DockerTimeout, c);
            await _nodes.CreateAsync(plan, n, net, t.Token);
            Report(progress, lab, n.Name, "created", RuntimeEventKind.Progress);
        });

        var pinned = new HashSet<string>(alreadyPinned, StringComparer.Ordinal);
        var wired = new HashSet<string>(StringComparer.Ordinal);
        var execDone = new HashSet<string>(StringComparer.Ordinal);
        var ctx = new LinkContext(lab, plan.LinkBackend, net.Bridge);
        var createdNames = create.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var staleNs = _net.ListNamespaces().ToHashSet(StringComparer.Ordinal);

        var pids = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var started = new ConcurrentDictionary<string, DateTime>(StringComparer.Ordinal);
        foreach (var wave in Waves.Of(lab, create, plan.Nodes))
        {
            await Parallel.ForEachAsync(wave, par, async (n, c) =>
            {
                using var t = Timed(options.DockerTimeout, c);
                pids[n.Name] = await _nodes.StartAsync(lab, n, t.Token);
                started[n.Name] = DateTime.UtcNow;
                Report(progress, lab, n.Name, "started", RuntimeEventKind.Progress);
            });
            var pin = new List<string>();
            foreach (var n in wave)
            {
                var ns = Names.Netns(lab, n.Name);
                if (staleNs.Contains(ns))
                {
                    await _net.IpBatchAsync(null, [$"netns delete {ns}"], force: true, ct);
                }
                pin.Add($"netns attach {ns} {pids[n.Name]}");
            }
            try
            {
                await _net.IpBatchAsync(null, pin, force: false, ct);
            }
            catch (HostNetworkException)
            {
                // The usual cause: a node exited right after it started (its pid is gone). Name it.
                foreach (var n in wave)
                {
                    await _nodes.EnsureStillRunningAsync(lab, n.Name, pids[n.Name], ct);
                }
                throw;
            }
            pinned.UnionWith(wave.Select(n => n.Name));

            await WireReadyAsync(wave.Where(n => IsLtbWired(plan, net, n.Name)).ToList());
            await RunReadyExecAsync();
        }
        // Links between nodes that kept running (an apply that only adds links) come with no wave of their own.
        await WireReadyAsync(null);
        await RunReadyExecAsync();

        // A node that exited right after it started (while the others were wired) fails the deploy, naming it. One that
        // is about to (its process not even scheduled yet on a busy host) is given a moment to show it first.
        await Parallel.ForEachAsync(create, par, async (n, c) =>
        {
            var settle = StartSettle - (DateTime.UtcNow - started[n.Name]);
            if (settle > TimeSpan.Zero)
            {
                await Task.Delay(settle, c);
            }
            using var t = Timed(options.DockerTimeout, c);
            await _nodes.EnsureStillRunningAsync(lab, n.Name, pids[n.Name], t.Token);
        });

        // The links whose ends are all pinned now, and the management interfaces of a wave's nodes (null: after the waves).
        async Task WireReadyAsync(IReadOnlyList<NodePlan>? mgmtNodes)
        {
            var ready = wire.Where(l => !wired.Contains(l.Key) && LinkWirings.NodeEnds(l).All(e => pinned.Contains(e.Node))).ToList();
            if (ready.Count + (mgmtNodes?.Count ?? 0) == 0)
            {
                return;
            }
            var batch = new WiringBatch();
            foreach (var n in mgmtNodes ?? [])
            {
                MgmtInterface.Create(ctx, net, n.Name, net.Nodes[n.Name], batch);
            }
            foreach (var l in ready)
            {
                LinkWirings.For(l, plan.LinkBackend).Create(l, ctx, batch);
            }
            var what = mgmtNodes is null ? "links" : "links and management interfaces";
            try
            {
                await batch.RunAsync(_net, Math.Max(2, options.MaxParallelism), force: false, ct);
            }
            catch (HostNetworkException e)
            {
                throw new LabRuntimeException(lab, null, $"creating {what} failed: {e.Message}", e);
            }
            wired.UnionWith(ready.Select(l => l.Key));
            Report(progress, lab, null, mgmtNodes is null ? $"{ready.Count} links up" : $"{mgmtNodes.Count} management interfaces and {ready.Count} links up",
                RuntimeEventKind.Progress);
        }

        async Task RunReadyExecAsync()
        {
            var ready = plan.Nodes.Where(n => createdNames.Contains(n.Name) && pinned.Contains(n.Name) && !execDone.Contains(n.Name)
                && wire.Where(l => LinkWirings.NodeEnds(l).Any(e => e.Node == n.Name)).All(l => wired.Contains(l.Key))).ToList();
            await Parallel.ForEachAsync(ready.Where(n => n.Exec.Count > 0), par, async (n, c) =>
                await _nodes.RunExecAsync(lab, n, options.ExecTimeout, progress, c));
            execDone.UnionWith(ready.Select(n => n.Name));
        }
    }

    // ---------------------------------------------------------------- apply

    /// <summary>
    /// Brings a running lab to <paramref name="plan"/>: removes nodes and links that are gone, recreates nodes whose
    /// definition changed (and their links), adds new ones; unchanged nodes keep running untouched.
    /// </summary>
    public async Task<LabStatus> ApplyAsync(LabPlan plan, IProgress<RuntimeEvent>? progress = null, DeployOptions? options = null, CancellationToken ct = default)
    {
        options ??= new DeployOptions();
        PlanValidator.Validate(plan);
        var lab = plan.LabName;
        var old = _store.Load(lab);
        if (old is null)
        {
            return await DeployAsync(plan, progress, options, ct);
        }
        if (old.Plan.LinkBackend != plan.LinkBackend || old.Plan.Mgmt != plan.Mgmt)
        {
            throw new LabRuntimeException(lab, null, "the link backend or the management network changed; that needs a redeploy (destroy, then deploy)");
        }
        using var _ = await LockAsync(lab, ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.DeployTimeout);
        var token = timeout.Token;

        if (old.Mgmt is null)
        {
            throw new LabRuntimeException(lab, null, "the lab was deployed by an earlier LTB that left the management network to Docker; destroy it and deploy it again");
        }

        var diff = PlanDiff.Compute(old.Plan, plan);
        Report(progress, lab, null, $"apply: {diff}");
        await PreflightAsync(plan, diff.AddedNodes.Concat(diff.ChangedNodes), diff.LinksToCreate, options, progress, token);
        var gone = diff.RemovedNodes.Concat(diff.ChangedNodes.Select(n => n.Name)).ToList();
        // Nodes that keep running keep their addresses; recreated nodes keep theirs where they still can.
        var kept = old.Mgmt.Nodes.Where(kv => !gone.Contains(kv.Key) && plan.Nodes.Any(n => n.Name == kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var net = old.Mgmt.WithNodes(MgmtAllocator.Allocate(plan, old.Mgmt, kept, old.Mgmt.Nodes));
        var record = old with { Plan = plan, Phase = LabPhase.Deploying, Error = null, Mgmt = net };
        try
        {
            var ctx = new LinkContext(lab, plan.LinkBackend, old.MgmtBridge);
            var remove = new WiringBatch();
            foreach (var l in diff.LinksToRemove)
            {
                LinkWirings.For(l, old.Plan.LinkBackend).Remove(l, ctx, remove);
            }
            foreach (var n in gone.Where(n => IsLtbWired(old.Plan, old.Mgmt, n)))
            {
                MgmtInterface.Remove(ctx, n, remove);
            }
            await remove.RunAsync(_net, options.MaxParallelism, force: true, token);
            await RemoveNodesAsync(lab, gone, options.MaxParallelism, token);
            if (diff.LinksToRemove.Any(l => l.Type == LinkType.Vxlan))
            {
                await TunnelFirewall.SyncAsync(_net, lab, TunnelFirewall.PeersOf(plan.Links), token);
            }
            _store.Save(record);
            var create = diff.AddedNodes.Concat(diff.ChangedNodes).ToList();
            var keep = plan.Nodes.Select(n => n.Name).Except(create.Select(n => n.Name)).ToList();
            await CreateAndWireAsync(plan, create, diff.LinksToCreate, keep, net, options, progress, token);
            // Running nodes learn the names of the nodes added and forget the removed ones.
            var names = ContainerNodes.HostNames(lab, old.Mgmt.Nodes.Keys.Concat(net.Nodes.Keys)).ToHashSet(StringComparer.Ordinal);
            foreach (var node in plan.Nodes.Where(n => keep.Contains(n.Name) && MgmtAttachments.Of(plan, n) != MgmtAttachment.None))
            {
                await _nodes.RefreshHostsAsync(plan, node.Name, net, names, token);
            }
            _store.Save(record with { Phase = LabPhase.Deployed });
            return await InspectAsync(lab, CancellationToken.None);
        }
        catch (Exception e)
        {
            throw await FailAsync(plan, record, e, options with { OnFailure = FailurePolicy.KeepFailed },
                timeout.IsCancellationRequested && !ct.IsCancellationRequested, ct.IsCancellationRequested, progress);
        }
    }

    private async Task RemoveNodesAsync(string lab, List<string> nodes, int parallelism, CancellationToken ct)
    {
        if (nodes.Count == 0)
        {
            return;
        }
        var set = nodes.ToHashSet(StringComparer.Ordinal);
        var containers = (await _nodes.ListAsync(lab, ct)).Where(c => c.Labels.TryGetValue(Names.NodeLabel, out var n) && set.Contains(n)).ToList();
        await Parallel.ForEachAsync(containers, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = ct },
            async (c, t) => await _nodes.RemoveAsync(c.ID, t));
        var existing = _net.ListNamespaces().ToHashSet(StringComparer.Ordinal);
        await _net.IpBatchAsync(null, nodes.Select(n => Names.Netns(lab, n)).Where(existing.Contains).Select(ns => $"netns delete {ns}").ToList(), force: true, ct);
    }

    // ---------------------------------------------------------------- destroy

    /// <summary>Removes everything the lab created (containers, namespaces, host interfaces, OVS bridges, networks, files). Works on half-deployed labs.</summary>
    public async Task DestroyAsync(string labName, IProgress<RuntimeEvent>? progress = null, CancellationToken ct = default)
    {
        using var _ = await LockAsync(labName, ct);
        await DestroyCoreAsync(labName, progress, ct);
    }

    private async Task DestroyCoreAsync(string lab, IProgress<RuntimeEvent>? progress, CancellationToken ct)
    {
        var containers = await _nodes.ListAsync(lab, ct);
        var record = _store.Load(lab);
        var nodeNames = containers.Select(c => c.Labels.TryGetValue(Names.NodeLabel, out var n) ? n : null).OfType<string>()
            .Concat(record?.Plan.Nodes.Select(n => n.Name) ?? []).ToHashSet(StringComparer.Ordinal);

        await Parallel.ForEachAsync(containers, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(4, 2 * Environment.ProcessorCount), CancellationToken = ct },
            async (c, t) => await _nodes.RemoveAsync(c.ID, t));
        Report(progress, lab, null, $"{containers.Count} containers removed", RuntimeEventKind.Progress);

        var namespaces = _net.ListNamespaces().ToHashSet(StringComparer.Ordinal);
        await _net.IpBatchAsync(null, nodeNames.Select(n => Names.Netns(lab, n)).Where(namespaces.Contains).Select(ns => $"netns delete {ns}").ToList(), force: true, ct);

        if (await _net.OvsAvailableAsync(ct))
        {
            var bridges = await _net.OvsVsctlAsync([["--bare", "--columns=name", "find", "bridge", $"external_ids:{OvsLink.LabExternalId}={lab}"]], ct);
            var names = bridges.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (names.Length > 0)
            {
                await _net.OvsVsctlAsync(names.Select(b => (IReadOnlyList<string>)["--if-exists", "del-br", b]).ToList(), ct);
            }
        }
        var prefix = Names.AliasPrefix(lab);
        var hostLinks = (await _net.ListLinksAsync(null, ct)).Where(l => l.Alias?.StartsWith(prefix, StringComparison.Ordinal) == true)
            .OrderBy(l => l.Kind == "bridge" ? 1 : 0).Select(l => $"link del {l.Name}").ToList();
        await _net.IpBatchAsync(null, hostLinks, force: true, ct);
        await _net.RemoveFirewallRulesAsync(prefix, ct);
        await TunnelFirewall.SyncAsync(_net, lab, [], ct);

        foreach (var n in await _mgmt.ListAsync(lab, ct))
        {
            await _mgmt.RemoveAsync(n.ID, ct);
        }
        _store.Delete(lab);
        Report(progress, lab, null, "destroyed");
    }

    // ---------------------------------------------------------------- inspect

    public async Task<IReadOnlyList<string>> ListLabsAsync(CancellationToken ct = default)
    {
        var containers = await _engine.Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [Names.LabLabel] = true } },
        }, ct);
        return containers.Select(c => c.Labels[Names.LabLabel]).Concat(_store.Labs()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The lab as the engine and the host see it now (containers by label, interfaces in the pinned namespaces).</summary>
    public async Task<LabStatus> InspectAsync(string labName, CancellationToken ct = default)
    {
        var record = _store.Load(labName);
        var containers = await _nodes.ListAsync(labName, ct);
        var networks = await _mgmt.ListAsync(labName, ct);
        if (record is null && containers.Count == 0 && networks.Count == 0)
        {
            return Absent(labName, LinkBackend.Veth);
        }
        var plan = record?.Plan;
        var peers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var l in plan?.Links ?? [])
        {
            if (l.B is not null)
            {
                peers[l.A.ToString()] = l.B.ToString();
                peers[l.B.ToString()] = l.A.ToString();
            }
        }
        var namespaces = _net.ListNamespaces().ToHashSet(StringComparer.Ordinal);
        var nodes = new ConcurrentBag<NodeStatus>();
        await Parallel.ForEachAsync(containers, ct, async (c, t) =>
        {
            var name = c.Labels.TryGetValue(Names.NodeLabel, out var n) ? n : c.Names.First().TrimStart('/');
            ContainerInspectResponse i;
            try
            {
                i = await _engine.Client.Containers.InspectContainerAsync(c.ID, t);
            }
            catch (DockerContainerNotFoundException)
            {
                return;
            }
            var state = i.State switch
            {
                { Running: true } => NodeState.Running,
                { Status: "created" } => NodeState.Created,
                { ExitCode: 0 } => NodeState.Stopped,
                _ => NodeState.Exited,
            };
            var ep = i.NetworkSettings?.Networks?.Values.FirstOrDefault();
            var ifaces = new List<InterfaceStatus>();
            var ns = Names.Netns(labName, name);
            if (namespaces.Contains(ns))
            {
                try
                {
                    foreach (var l in await _net.ListLinksAsync(ns, t))
                    {
                        if (l.Name == "lo")
                        {
                            continue;
                        }
                        ifaces.Add(new InterfaceStatus(l.Name, l.Mac, l.Mtu, l.AdminUp, l.Carrier, peers.GetValueOrDefault($"{name}:{l.Name}")));
                    }
                }
                catch (HostNetworkException)
                {
                }
            }
            // LTB-wired nodes have no Docker endpoint: their addresses are in their labels (Docker-attached ones have both).
            nodes.Add(new NodeStatus(name, i.Name.TrimStart('/'), i.ID, (c.Labels.TryGetValue(Names.ImageLabel, out var img) ? img : c.Image), state,
                Label(c, Names.MgmtIpv4Label) ?? NullIfEmpty(ep?.IPAddress), Label(c, Names.MgmtIpv6Label) ?? NullIfEmpty(ep?.GlobalIPv6Address), i.State?.Pid is > 0 ? (int)i.State.Pid : null,
                ifaces.OrderBy(x => x.Name, StringComparer.Ordinal).ToList(),
                state == NodeState.Exited ? $"exit code {i.State?.ExitCode} {i.State?.Error}".Trim() : null, Published(i)));
        });
        var byNode = nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        var links = (plan?.Links ?? []).Select(l =>
        {
            bool? Carrier(LinkEndpoint e) => byNode.TryGetValue(e.Node, out var n) ? n.Interfaces.FirstOrDefault(x => x.Name == e.Interface)?.Carrier : null;
            var ends = LinkWirings.NodeEnds(l).Select(Carrier).ToList();
            bool? up = ends.Any(x => x is null) ? null : ends.All(x => x == true);
            return new LinkStatus(l.Key, l.Type, l.A.ToString(), l.B?.ToString(), up);
        }).ToList();
        var lstate = record?.Phase switch
        {
            LabPhase.Failed => LabState.Failed,
            LabPhase.Deploying => LabState.Deploying,
            _ when nodes.IsEmpty => LabState.Failed,
            _ when nodes.All(n => n.State == NodeState.Running) && (plan is null || nodes.Count == plan.Nodes.Count) => LabState.Running,
            _ when nodes.All(n => n.State != NodeState.Running) => LabState.Stopped,
            _ => LabState.Degraded,
        };
        var subnets = networks.SelectMany(n => n.IPAM?.Config ?? []).Select(c => c.Subnet).ToList();
        return new LabStatus(labName, lstate, plan?.LinkBackend ?? LinkBackend.Veth, networks.FirstOrDefault()?.Name,
            subnets.FirstOrDefault(s => s?.Contains('.', StringComparison.Ordinal) == true), subnets.FirstOrDefault(s => s?.Contains(':', StringComparison.Ordinal) == true),
            nodes.OrderBy(n => n.Name, StringComparer.Ordinal).ToList(), links, record?.Error);
    }

    /// <summary>The ports the engine published for a running node (what a user connects to), in a stable order.</summary>
    private static List<PublishedPort> Published(ContainerInspectResponse i) =>
        (i.NetworkSettings?.Ports ?? new Dictionary<string, IList<PortBinding>>())
            .Where(kv => kv.Value is not null)
            .SelectMany(kv => kv.Value.Select(b => (Key: kv.Key.Split('/'), Binding: b)))
            .Where(x => x.Key.Length == 2 && int.TryParse(x.Key[0], System.Globalization.CultureInfo.InvariantCulture, out _)
                && int.TryParse(x.Binding.HostPort, System.Globalization.CultureInfo.InvariantCulture, out _))
            .Select(x => new PublishedPort(x.Binding.HostIP is null or "" ? "0.0.0.0" : x.Binding.HostIP,
                int.Parse(x.Binding.HostPort, System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(x.Key[0], System.Globalization.CultureInfo.InvariantCulture), x.Key[1]))
            .OrderBy(p => p.NodePort).ThenBy(p => p.Protocol, StringComparer.Ordinal).ThenBy(p => p.HostIp, StringComparer.Ordinal).ToList();

    // ---------------------------------------------------------------- node and link operations

    /// <summary>Stops a node; its interfaces stay in its pinned namespace (set down, so the peers lose carrier).</summary>
    public async Task<NodeStatus> StopNodeAsync(string labName, string node, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var (record, n) = Find(labName, node);
        using var _ = await LockAsync(labName, ct);
        var ends = NodeInterfaces(record, node);
        await _net.IpBatchAsync(Names.Netns(labName, node), ends.Select(i => $"link set {i} down").ToList(), force: true, ct);
        using var t = Timed((timeout ?? TimeSpan.FromSeconds(10)) + TimeSpan.FromSeconds(30), ct);
        await _nodes.StopAsync(labName, n.Name, timeout ?? TimeSpan.FromSeconds(10), t.Token);
        return (await InspectAsync(labName, ct)).Node(node);
    }

    /// <summary>
    /// Starts a stopped node. Docker gives the container a new network namespace, so the node's interfaces are moved
    /// from the pinned old namespace into the new one (same names, MACs, MTUs, peers untouched), the pin is moved to the
    /// new namespace, and the node's exec commands run again.
    /// </summary>
    public async Task<NodeStatus> StartNodeAsync(string labName, string node, CancellationToken ct = default)
    {
        var (record, n) = Find(labName, node);
        using var _ = await LockAsync(labName, ct);
        using var t = Timed(TimeSpan.FromMinutes(2), ct);
        var inspect = await _engine.Client.Containers.InspectContainerAsync(Names.Container(labName, node), t.Token);
        if (inspect.State?.Running != true)
        {
            await _nodes.StartAsync(labName, n, t.Token);
        }
        var pid = await _nodes.RunningPidAsync(labName, node, t.Token);
        await RewireAsync(record, n, pid, t.Token);
        await _nodes.RunExecAsync(labName, n, TimeSpan.FromSeconds(60), null, t.Token);
        return (await InspectAsync(labName, ct)).Node(node);
    }

    public async Task<NodeStatus> RestartNodeAsync(string labName, string node, CancellationToken ct = default)
    {
        await StopNodeAsync(labName, node, null, ct);
        return await StartNodeAsync(labName, node, ct);
    }

    private async Task RewireAsync(LabRecord record, NodePlan node, long pid, CancellationToken ct)
    {
        var plan = record.Plan;
        var lab = plan.LabName;
        var ns = Names.Netns(lab, node.Name);
        var ifaces = NodeInterfaces(record, node.Name);
        var identify = await _net.RunAsync("ip", ["netns", "identify", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], null, null, ct);
        var already = identify.Stdout.Split('\n', StringSplitOptions.TrimEntries).Contains(ns);
        if (!already)
        {
            if (_net.ListNamespaces().Contains(ns))
            {
                await _net.IpBatchAsync(ns, ifaces.Select(i => $"link set {i} netns {pid}").ToList(), force: true, ct);
                await _net.IpBatchAsync(null, [$"netns delete {ns}"], force: true, ct);
            }
            await _net.IpBatchAsync(null, [$"netns attach {ns} {pid}"], force: false, ct);
        }
        var present = (await _net.ListLinksAsync(ns, ct)).Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        await _net.IpBatchAsync(ns, ifaces.Where(present.Contains).Select(i => $"link set {i} up").ToList(), force: true, ct);
        var mgmt = IsLtbWired(plan, record.Mgmt, node.Name) ? record.Mgmt : null;
        if (mgmt is not null && present.Contains(Names.MgmtInterface))
        {
            // Moving eth0 into the new namespace dropped its addresses and routes.
            await _net.IpBatchAsync(ns, MgmtInterface.Configure(mgmt, mgmt.Nodes[node.Name]).ToList(), force: false, ct);
        }

        // Interfaces that did not survive (e.g. the pin was lost): recreate their links and the management interface.
        var missing = plan.Links.Where(l => LinkWirings.NodeEnds(l).Any(e => e.Node == node.Name && !present.Contains(e.Interface))).ToList();
        var mgmtMissing = mgmt is not null && !present.Contains(Names.MgmtInterface);
        if (missing.Count > 0 || mgmtMissing)
        {
            var ctx = new LinkContext(lab, plan.LinkBackend, record.MgmtBridge);
            var remove = new WiringBatch();
            var create = new WiringBatch();
            foreach (var l in missing)
            {
                LinkWirings.For(l, plan.LinkBackend).Remove(l, ctx, remove);
                LinkWirings.For(l, plan.LinkBackend).Create(l, ctx, create);
            }
            if (mgmtMissing)
            {
                MgmtInterface.Remove(ctx, node.Name, remove);
                MgmtInterface.Create(ctx, mgmt!, node.Name, mgmt!.Nodes[node.Name], create);
            }
            await remove.RunAsync(_net, 4, force: true, ct);
            await create.RunAsync(_net, 4, force: false, ct);
        }
    }

    /// <summary>Takes a link down or up; both ends see the carrier change.</summary>
    public async Task SetLinkStateAsync(string labName, string node, string iface, bool up, CancellationToken ct = default)
    {
        var (plan, link) = FindLink(labName, node, iface);
        var record = _store.Load(labName);
        var batch = new WiringBatch();
        LinkWirings.For(link, plan.LinkBackend).SetState(link, new LinkContext(labName, plan.LinkBackend, record?.MgmtBridge), up, batch);
        await batch.RunAsync(_net, 2, force: false, ct);
    }

    /// <summary>Limits the link's rate in both directions (tc tbf on each node-side end); null removes the limit.</summary>
    public async Task SetLinkRateAsync(string labName, string node, string iface, long? kbitPerSecond, CancellationToken ct = default)
    {
        var (_, link) = FindLink(labName, node, iface);
        foreach (var e in LinkWirings.NodeEnds(link))
        {
            var ns = Names.Netns(labName, e.Node);
            if (kbitPerSecond is { } rate)
            {
                var burst = Math.Max(rate * 1000 / 8 / 100, 16 * 1024);
                await _net.TcBatchAsync(ns, [$"qdisc replace dev {e.Interface} root tbf rate {rate}kbit burst {burst} latency 100ms"], force: false, ct);
            }
            else
            {
                await _net.TcBatchAsync(ns, [$"qdisc del dev {e.Interface} root"], force: true, ct);
            }
        }
    }

    /// <summary>
    /// Streams what a node wrote to its stdout and stderr (as the engine keeps it, interleaved): the last
    /// <paramref name="tail"/> lines (null: all), then with <paramref name="follow"/> what it writes until the caller
    /// cancels or the node stops. A stopped node still has its output.
    /// </summary>
    public async Task<bool> StreamNodeLogsAsync(string labName, string node, int? tail, bool follow, long? limitBytes,
        Func<string, CancellationToken, ValueTask> write, CancellationToken ct = default)
    {
        Find(labName, node);
        return await _nodes.StreamLogsAsync(labName, node, tail, follow, limitBytes, write, ct);
    }

    // ---------------------------------------------------------------- helpers

    private (LabRecord Record, NodePlan Node) Find(string lab, string node)
    {
        var record = _store.Load(lab) ?? throw new LabRuntimeException(lab, node, "the lab is not deployed on this host");
        var n = record.Plan.Nodes.FirstOrDefault(x => x.Name == node) ?? throw new LabRuntimeException(lab, node, "the lab has no such node");
        return (record, n);
    }

    private (LabPlan Plan, LinkPlan Link) FindLink(string lab, string node, string iface)
    {
        var record = _store.Load(lab) ?? throw new LabRuntimeException(lab, node, "the lab is not deployed on this host");
        var link = record.Plan.Links.FirstOrDefault(l => LinkWirings.NodeEnds(l).Any(e => e.Node == node && e.Interface == iface))
                   ?? throw new LabRuntimeException(lab, node, $"no link ends at {node}:{iface}");
        return (record.Plan, link);
    }

    /// <summary>The interfaces LTB put into a node: its link ends, and eth0 where LTB wired the management interface.</summary>
    private static List<string> NodeInterfaces(LabRecord record, string node) =>
        record.Plan.Links.SelectMany(LinkWirings.NodeEnds).Where(e => e.Node == node).Select(e => e.Interface)
            .Concat(IsLtbWired(record.Plan, record.Mgmt, node) ? [Names.MgmtInterface] : []).ToList();

    private static bool IsLtbWired(LabPlan plan, MgmtState? mgmt, string node) =>
        mgmt?.Nodes.ContainsKey(node) == true && plan.Nodes.FirstOrDefault(n => n.Name == node) is { } n && MgmtAttachments.Of(plan, n) == MgmtAttachment.Veth;

    private static LabStatus Absent(string lab, LinkBackend backend) => new(lab, LabState.Absent, backend, null, null, null, [], []);

    private static string? Label(ContainerListResponse c, string key) => c.Labels.TryGetValue(key, out var v) ? v : null;

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static CancellationTokenSource Timed(TimeSpan timeout, CancellationToken ct)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        return cts;
    }

    private static void Report(IProgress<RuntimeEvent>? progress, string lab, string? node, string message, RuntimeEventKind kind = RuntimeEventKind.Info) =>
        progress?.Report(new RuntimeEvent(DateTimeOffset.UtcNow, lab, node, kind, message));

    private static async Task<IDisposable> LockAsync(string lab, CancellationToken ct)
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
