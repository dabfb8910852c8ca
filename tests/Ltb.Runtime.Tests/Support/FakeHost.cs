using System.Collections.Concurrent;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Topology.Catalog;
using NodeStatus = Ltb.Runtime.Status.NodeStatus;

namespace Ltb.Runtime.Tests.Support;

/// <summary>
/// A host without Docker or namespaces for the orchestration tests: a node driver, a host network and management
/// networks that keep their state in memory and record what they were asked, in order.
/// </summary>
public sealed class FakeHost
{
    public FakeHost()
    {
        Driver = new FakeDriver(_journal);
        Net = new FakeHostNetwork(_journal);
        State = Path.Combine(Path.GetTempPath(), "ltb-fake-host", Guid.NewGuid().ToString("N"));
        Runtime = new LabRuntime([Driver], Mgmt, Net, new RuntimeOptions { StateDirectory = State });
    }

    private readonly ConcurrentQueue<string> _journal = new();

    /// <summary>What the driver and the host network were asked, in order: "start n1", "net [host] netns attach ...".</summary>
    public IReadOnlyList<string> Journal => [.. _journal];

    public string State { get; }
    public FakeDriver Driver { get; }
    public FakeHostNetwork Net { get; }
    public FakeMgmtNetworks Mgmt { get; } = new();
    public LabRuntime Runtime { get; }

    /// <summary>What is left of a lab anywhere on the fake host (empty: nothing).</summary>
    public IReadOnlyList<string> LeftOf(string lab) =>
    [
        .. Driver.Nodes(lab).Select(n => $"node {n}"),
        .. Net.ListNamespaces().Where(ns => ns.StartsWith($"ltb-{lab}-", StringComparison.Ordinal)).Select(ns => $"namespace {ns}"),
        .. Net.HostLinks.Values.Where(l => l.Alias?.StartsWith(Names.AliasPrefix(lab), StringComparison.Ordinal) == true).Select(l => $"host link {l.Name}"),
        .. Mgmt.Networks.Values.Where(n => n.Lab == lab).Select(n => $"network {n.Info.Name}"),
        .. Directory.Exists(Path.Combine(State, lab)) ? [$"state folder of {lab}"] : Array.Empty<string>(),
    ];
}

/// <summary>A node driver whose nodes are entries in memory; its log says what happened, in order ("start n1", "exec n1 ...").</summary>
public sealed class FakeDriver(ConcurrentQueue<string> log) : INodeDriver
{
    private sealed class Node(NodePlan plan)
    {
        public NodePlan Plan { get; } = plan;
        public NodeState State { get; set; } = NodeState.Created;
        public long Pid { get; set; }
        public string Id { get; } = Guid.NewGuid().ToString("N");
    }

    private readonly ConcurrentDictionary<(string Lab, string Node), Node> _nodes = new();
    private readonly ConcurrentQueue<string> _log = log;
    private long _pids = 1000;

    public NodeRuntime Runtime => NodeRuntime.Container;
    public NodeCapabilities Capabilities => NodeCapabilities.None;

    /// <summary>Nodes whose start fails (as an engine refusing it would).</summary>
    public ConcurrentDictionary<string, string> FailStart { get; } = new(StringComparer.Ordinal);

    /// <summary>Nodes that exit right after they started (found when the deploy checks that every node still runs).</summary>
    public ConcurrentDictionary<string, int> ExitAfterStart { get; } = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Nodes(string lab) => _nodes.Keys.Where(k => k.Lab == lab).Select(k => k.Node).Order(StringComparer.Ordinal).ToList();

    public long PidOf(string lab, string node) => _nodes[(lab, node)].Pid;

    public Task PrepareAsync(LabPlan plan, IReadOnlyList<NodePlan> nodes, DeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct)
    {
        _log.Enqueue($"prepare {string.Join(",", nodes.Select(n => n.Name))}");
        return Task.CompletedTask;
    }

    public Task<string?> IsolationWarningAsync(CancellationToken ct) => Task.FromResult<string?>(null);

    public Task CreateAsync(LabPlan plan, NodePlan node, MgmtState? mgmt, CancellationToken ct)
    {
        if (!_nodes.TryAdd((plan.LabName, node.Name), new Node(node)))
        {
            throw new LabRuntimeException(plan.LabName, node.Name, "exists already");
        }
        _log.Enqueue($"create {node.Name}");
        return Task.CompletedTask;
    }

    public async Task<NodeNamespace> StartAsync(string lab, NodePlan node, CancellationToken ct)
    {
        await Task.Yield();
        if (FailStart.TryGetValue(node.Name, out var why))
        {
            _log.Enqueue($"start {node.Name} failed");
            throw new LabRuntimeException(lab, node.Name, why);
        }
        var n = _nodes[(lab, node.Name)];
        n.State = NodeState.Running;
        n.Pid = Interlocked.Increment(ref _pids);
        _log.Enqueue($"start {node.Name}");
        return new NodeNamespace(n.Pid);
    }

    public Task<NodeNamespace> NamespaceAsync(string lab, string node, CancellationToken ct) =>
        _nodes[(lab, node)] is { State: NodeState.Running } n ? Task.FromResult(new NodeNamespace(n.Pid))
            : throw new LabRuntimeException(lab, node, "not running");

    public Task<bool> IsRunningAsync(string lab, string node, CancellationToken ct) =>
        Task.FromResult(_nodes[(lab, node)].State == NodeState.Running);

    public Task EnsureRunningAsync(string lab, string node, NodeNamespace ns, CancellationToken ct)
    {
        if (ExitAfterStart.TryGetValue(node, out var code))
        {
            _nodes[(lab, node)].State = NodeState.Exited;
            throw new LabRuntimeException(lab, node, $"the container exited right after it started (exit code {code})");
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(string lab, string node, TimeSpan grace, CancellationToken ct)
    {
        _nodes[(lab, node)].State = NodeState.Stopped;
        _log.Enqueue($"stop {node}");
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<DriverNode>> ListAsync(string lab, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<DriverNode>>(_nodes.Where(kv => kv.Key.Lab == lab).Select(kv => new DriverNode(kv.Key.Node, kv.Value.Id)).ToList());

    public Task<IReadOnlyList<string>> ListLabsAsync(CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<string>>(_nodes.Keys.Select(k => k.Lab).Distinct().ToList());

    public Task RemoveAsync(string lab, DriverNode node, CancellationToken ct)
    {
        if (_nodes.TryRemove((lab, node.Name!), out _))
        {
            _log.Enqueue($"remove {node.Name}");
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<NodeStatus>> InspectAsync(string lab, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<NodeStatus>>(_nodes.Where(kv => kv.Key.Lab == lab).Select(kv => new NodeStatus(kv.Key.Node,
            Names.Container(lab, kv.Key.Node), kv.Value.Id, kv.Value.Plan.Image, kv.Value.State, null, null,
            kv.Value.State == NodeState.Running ? (int)kv.Value.Pid : null, [])).ToList());

    public Task<ExecResult> ExecAsync(string lab, string node, IReadOnlyList<string> command, TimeSpan timeout, long limitBytes, CancellationToken ct)
    {
        _log.Enqueue($"exec {node} {string.Join(' ', command)}");
        return Task.FromResult(new ExecResult(0, "", ""));
    }

    public Task<IExecSession> OpenExecSessionAsync(ExecSessionRequest request, CancellationToken ct) =>
        throw new NotSupportedException("the fake driver runs no interactive commands");

    public Task<bool> StreamLogsAsync(string lab, string node, int? tail, bool follow, long? limitBytes,
        Func<string, CancellationToken, ValueTask> write, CancellationToken ct) => Task.FromResult(false);

    public Task RefreshNamesAsync(LabPlan plan, string node, MgmtState mgmt, IReadOnlySet<string> names, CancellationToken ct)
    {
        _log.Enqueue($"names {node}");
        return Task.CompletedTask;
    }
}

/// <summary>Host networking in memory: pinned namespaces (netns attach/delete) and the host links LTB aliased; every batch line journaled.</summary>
public sealed class FakeHostNetwork(ConcurrentQueue<string> log) : IHostNetwork
{
    private readonly ConcurrentDictionary<string, bool> _namespaces = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _lines = log;

    public ConcurrentDictionary<string, HostLink> HostLinks { get; } = new(StringComparer.Ordinal);

    public Task IpBatchAsync(string? netns, IReadOnlyList<string> lines, bool force, CancellationToken ct)
    {
        foreach (var line in lines)
        {
            _lines.Enqueue($"net [{netns ?? "host"}] {line}");
            var w = line.Split(' ');
            if (netns is null && w is ["netns", "attach", var ns, _])
            {
                _namespaces[ns] = true;
            }
            else if (netns is null && w is ["netns", "delete", var gone])
            {
                _namespaces.TryRemove(gone, out _);
            }
            else if (netns is null && w is ["link", "set", var name, "master", _, "alias", var alias, ..])
            {
                HostLinks[name] = new HostLink(HostLinks.Count + 10, name, null, 1500, ["UP"], alias, "veth", w[4], "UP", null);
            }
            else if (netns is null && w is ["link", "del", var del])
            {
                HostLinks.TryRemove(del, out _);
            }
        }
        return Task.CompletedTask;
    }

    public Task TcBatchAsync(string? netns, IReadOnlyList<string> lines, bool force, CancellationToken ct)
    {
        foreach (var line in lines)
        {
            _lines.Enqueue($"tc [{netns ?? "host"}] {line}");
        }
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<HostLink>> ListLinksAsync(string? netns, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<HostLink>>(netns is null ? [.. HostLinks.Values] : []);

    public IReadOnlyList<string> ListNamespaces() => [.. _namespaces.Keys];

    public Task<IReadOnlyList<Status.InterfaceDetails>> ReadInterfacesAsync(string netns, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<Status.InterfaceDetails>>([]);

    public Task<string> OvsVsctlAsync(IReadOnlyList<IReadOnlyList<string>> commands, CancellationToken ct) => Task.FromResult("");

    public Task OvsAddFlowsAsync(string bridge, IReadOnlyList<string> flows, CancellationToken ct) => Task.CompletedTask;

    public Task<bool> SupportsLinkKindAsync(string kind, CancellationToken ct) => Task.FromResult(true);

    public Task<bool> OvsAvailableAsync(CancellationToken ct) => Task.FromResult(false);

    public Task AllowBridgedAsync(IReadOnlyList<(string Bridge, string Comment)> bridges, CancellationToken ct) => Task.CompletedTask;

    public Task RemoveFirewallRulesAsync(string commentPrefix, CancellationToken ct) => Task.CompletedTask;

    /// <summary>No firewall tool answers (the tunnel filter then has nothing to do); other programs succeed silently.</summary>
    public Task<ProcessResult> RunAsync(string file, IReadOnlyList<string> args, string? stdin, TimeSpan? timeout, CancellationToken ct) =>
        Task.FromResult(new ProcessResult(0, "", ""));
}

/// <summary>Management networks in memory: one /24 per lab from 10.99.0.0/16, in order.</summary>
public sealed class FakeMgmtNetworks : IMgmtNetworks
{
    private int _next;

    public ConcurrentDictionary<string, (string Lab, MgmtNetworkInfo Info)> Networks { get; } = new(StringComparer.Ordinal);

    public Task<MgmtState> CreateAsync(LabPlan plan, DeployOptions options, CancellationToken ct)
    {
        var n = Interlocked.Increment(ref _next);
        var id = Guid.NewGuid().ToString("N");
        var subnet = $"10.99.{n}.0/24";
        Networks[id] = (plan.LabName, new MgmtNetworkInfo(id, plan.MgmtNetworkName, [subnet]));
        return Task.FromResult(new MgmtState($"br-{id[..12]}", subnet, $"10.99.{n}.1", null, null, 1500, new Dictionary<string, MgmtAddresses>()));
    }

    public Task CheckPinnedAsync(LabPlan plan, CancellationToken ct) => Task.CompletedTask;

    public Task<IReadOnlyList<MgmtNetworkInfo>> ListAsync(string lab, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<MgmtNetworkInfo>>(Networks.Values.Where(n => n.Lab == lab).Select(n => n.Info).ToList());

    public Task RemoveAsync(string id, CancellationToken ct)
    {
        Networks.TryRemove(id, out _);
        return Task.CompletedTask;
    }
}
