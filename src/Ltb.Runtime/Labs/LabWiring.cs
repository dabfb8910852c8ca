using System.Collections.Concurrent;
using Ltb.Runtime.Links;
using Ltb.Runtime.Links.Types;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Labs;

/// <summary>
/// Brings nodes up in waves (deploy and apply): creates the nodes (bounded parallelism), then per wave starts them,
/// pins their namespaces, wires their management interfaces and every link whose ends are now all pinned (one batch),
/// and runs the exec commands of nodes whose links are all up. Node work goes through each node's driver.
/// </summary>
internal sealed class LabWiring(LabContext x)
{
    /// <summary>How long a node must have been running at the end of a deploy to count as started.</summary>
    private static readonly TimeSpan StartSettle = TimeSpan.FromSeconds(1);

    /// <param name="alreadyPinned">Nodes that keep running (apply): their namespaces are pinned already.</param>
    public async Task CreateAndWireAsync(LabPlan plan, IReadOnlyList<NodePlan> create, IReadOnlyList<LinkPlan> wire,
        IReadOnlyCollection<string> alreadyPinned, MgmtState net, DeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct)
    {
        var lab = plan.LabName;
        // Before any node: what the host decides about a link (a VXLAN underlay) and what it must allow, or a failure at once.
        wire = await LinkTypes.PrepareHostAsync(x.Net, plan, wire, ct);
        var run = new Run(x, plan, create, wire, alreadyPinned, net, options, progress);
        await Parallel.ForEachAsync(create, run.Parallel(ct), async (n, c) =>
        {
            using var t = LabContext.Timed(options.DockerTimeout, c);
            await x.Driver(lab, n).CreateAsync(plan, n, net, t.Token);
            LabContext.Report(progress, lab, n.Name, "created", RuntimeEventKind.Progress);
        });
        foreach (var wave in Waves.Of(lab, create, plan.Nodes))
        {
            await run.StartAsync(wave, ct);
            await run.PinAsync(wave, ct);
            await run.WireReadyAsync(wave.Where(n => LabContext.IsLtbWired(plan, net, n.Name)).ToList(), ct);
            await run.RunReadyExecAsync(ct);
        }
        // Links between nodes that kept running (an apply that only adds links) come with no wave of their own.
        await run.WireReadyAsync(null, ct);
        await run.RunReadyExecAsync(ct);
        await run.SettleAsync(ct);
    }

    /// <summary>One deploy's or apply's progress through its waves.</summary>
    private sealed class Run(LabContext x, LabPlan plan, IReadOnlyList<NodePlan> create, IReadOnlyList<LinkPlan> wire,
        IReadOnlyCollection<string> alreadyPinned, MgmtState net, DeployOptions options, IProgress<RuntimeEvent>? progress)
    {
        private readonly string _lab = plan.LabName;
        private readonly HashSet<string> _pinned = new(alreadyPinned, StringComparer.Ordinal);
        private readonly HashSet<string> _wired = new(StringComparer.Ordinal);
        private readonly HashSet<string> _execDone = new(StringComparer.Ordinal);
        private readonly HashSet<string> _created = create.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        private readonly HashSet<string> _staleNs = x.Net.ListNamespaces().ToHashSet(StringComparer.Ordinal);
        private readonly LinkContext _ctx = new(plan.LabName, plan.LinkBackend, net.Bridge);
        private readonly ConcurrentDictionary<string, NodeNamespace> _ns = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, DateTime> _started = new(StringComparer.Ordinal);

        public ParallelOptions Parallel(CancellationToken ct) =>
            new() { MaxDegreeOfParallelism = Math.Max(1, options.MaxParallelism), CancellationToken = ct };

        public Task StartAsync(IReadOnlyList<NodePlan> wave, CancellationToken ct) =>
            System.Threading.Tasks.Parallel.ForEachAsync(wave, Parallel(ct), async (n, c) =>
            {
                using var t = LabContext.Timed(options.DockerTimeout, c);
                _ns[n.Name] = await x.Driver(_lab, n).StartAsync(_lab, n, t.Token);
                _started[n.Name] = DateTime.UtcNow;
                LabContext.Report(progress, _lab, n.Name, "started", RuntimeEventKind.Progress);
                // As early as the engine allows: it can add a created container's files, never remove them.
                await RestoredDeletions.ApplyAsync(x.Driver(_lab, n), _lab, n, progress, c);
            });

        /// <summary>Pins the wave's namespaces as /run/netns/ltb-LAB-NODE (one ip -batch), replacing stale pins of an earlier attempt.</summary>
        public async Task PinAsync(IReadOnlyList<NodePlan> wave, CancellationToken ct)
        {
            var pin = new List<string>();
            foreach (var n in wave)
            {
                var ns = Names.Netns(_lab, n.Name);
                if (_staleNs.Contains(ns))
                {
                    await x.Net.IpBatchAsync(null, [$"netns delete {ns}"], force: true, ct);
                }
                pin.Add($"netns attach {ns} {_ns[n.Name].Pid}");
            }
            try
            {
                await x.Net.IpBatchAsync(null, pin, force: false, ct);
            }
            catch (HostNetworkException)
            {
                // The usual cause: a node exited right after it started (its pid is gone). Name it.
                foreach (var n in wave)
                {
                    await x.Driver(_lab, n).EnsureRunningAsync(_lab, n.Name, _ns[n.Name], ct);
                }
                throw;
            }
            _pinned.UnionWith(wave.Select(n => n.Name));
        }

        /// <summary>The links whose ends are all pinned now, and the management interfaces of a wave's nodes (null: after the waves).</summary>
        public async Task WireReadyAsync(List<NodePlan>? mgmtNodes, CancellationToken ct)
        {
            var ready = wire.Where(l => !_wired.Contains(l.Key) && LinkTypes.NodeEnds(l).All(e => _pinned.Contains(e.Node))).ToList();
            if (ready.Count + (mgmtNodes?.Count ?? 0) == 0)
            {
                return;
            }
            var batch = new WiringBatch();
            foreach (var n in mgmtNodes ?? [])
            {
                MgmtInterface.Create(_ctx, net, n.Name, net.Nodes[n.Name], batch);
            }
            foreach (var l in ready)
            {
                LinkTypes.Wiring(l, plan.LinkBackend).Create(l, _ctx, batch);
            }
            var what = mgmtNodes is null ? "links" : "links and management interfaces";
            try
            {
                await batch.RunAsync(x.Net, Math.Max(2, options.MaxParallelism), force: false, ct);
            }
            catch (HostNetworkException e)
            {
                throw new LabRuntimeException(_lab, null, $"creating {what} failed: {e.Message}", e);
            }
            _wired.UnionWith(ready.Select(l => l.Key));
            LabContext.Report(progress, _lab, null, mgmtNodes is null ? $"{ready.Count} links up" : $"{mgmtNodes.Count} management interfaces and {ready.Count} links up",
                RuntimeEventKind.Progress);
        }

        public async Task RunReadyExecAsync(CancellationToken ct)
        {
            var ready = plan.Nodes.Where(n => _created.Contains(n.Name) && _pinned.Contains(n.Name) && !_execDone.Contains(n.Name)
                && wire.Where(l => LinkTypes.NodeEnds(l).Any(e => e.Node == n.Name)).All(l => _wired.Contains(l.Key))).ToList();
            await System.Threading.Tasks.Parallel.ForEachAsync(ready, Parallel(ct), async (n, c) =>
            {
                await x.InterfacesWiredAsync(record: null, plan, net, n, c);
                await x.RunExecAsync(_lab, n, options.ExecTimeout, progress, c);
            });
            _execDone.UnionWith(ready.Select(n => n.Name));
        }

        /// <summary>
        /// A node that exited right after it started (while the others were wired) fails the deploy, naming it. One that
        /// is about to (its process not even scheduled yet on a busy host) is given a moment to show it first.
        /// </summary>
        public Task SettleAsync(CancellationToken ct) =>
            System.Threading.Tasks.Parallel.ForEachAsync(create, Parallel(ct), async (n, c) =>
            {
                var settle = StartSettle - (DateTime.UtcNow - _started[n.Name]);
                if (settle > TimeSpan.Zero)
                {
                    await Task.Delay(settle, c);
                }
                using var t = LabContext.Timed(options.DockerTimeout, c);
                await x.Driver(_lab, n).EnsureRunningAsync(_lab, n.Name, _ns[n.Name], t.Token);
            });
    }
}
