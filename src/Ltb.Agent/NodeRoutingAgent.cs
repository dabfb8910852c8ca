using Ltb.Runtime.Docker;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Agent;

/// <summary>
/// The base of an agent that stands for several agents (a lab spanning hosts): every operation on one node goes to the
/// agent <see cref="AgentOf"/> names, unchanged, so a new node operation added to <see cref="ILabHostAgent"/> is routed
/// here once and its subclasses need nothing. Only the lab-wide operations (deploy, apply, destroy, inspect, list,
/// check), which a subclass must split or merge, are left abstract.
/// </summary>
public abstract class NodeRoutingAgent : ILabHostAgent
{
    /// <summary>The agent of the node's host; throws a <see cref="LabRuntimeException"/> naming the node when there is none.</summary>
    protected abstract ILabHostAgent AgentOf(string lab, string node);

    public abstract Task<AgentHealth> CheckAsync(CancellationToken ct);

    public abstract Task<LabStatus> DeployAsync(LabPlan plan, AgentDeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct);

    public abstract Task<LabStatus> ApplyAsync(LabPlan plan, AgentDeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct);

    public abstract Task DestroyAsync(string lab, IProgress<RuntimeEvent>? progress, CancellationToken ct);

    public abstract Task<LabStatus> InspectAsync(string lab, CancellationToken ct);

    public abstract Task<IReadOnlyList<string>> ListLabsAsync(CancellationToken ct);

    public Task<ExecResult> ExecAsync(string lab, string node, IReadOnlyList<string> command, TimeSpan timeout, long outputLimitBytes,
        CancellationToken ct) => AgentOf(lab, node).ExecAsync(lab, node, command, timeout, outputLimitBytes, ct);

    public Task<NodeStatus> NodeActionAsync(string lab, string node, NodeAction action, CancellationToken ct) =>
        AgentOf(lab, node).NodeActionAsync(lab, node, action, ct);

    public Task SetLinkStateAsync(string lab, string node, string iface, bool up, CancellationToken ct) =>
        AgentOf(lab, node).SetLinkStateAsync(lab, node, iface, up, ct);

    public Task<bool> NodeLogsAsync(string lab, string node, int? tail, bool follow, long limitBytes,
        Func<string, CancellationToken, ValueTask> write, CancellationToken ct) =>
        AgentOf(lab, node).NodeLogsAsync(lab, node, tail, follow, limitBytes, write, ct);

    public Task<IExecSession> OpenExecSessionAsync(ExecSessionRequest request, CancellationToken ct) =>
        AgentOf(request.Lab, request.Node).OpenExecSessionAsync(request, ct);

    public Task CaptureAsync(Ltb.Runtime.Capture.PacketCaptureRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write,
        CancellationToken ct) => AgentOf(request.Lab, request.Node).CaptureAsync(request, write, ct);

    public Task<Ltb.Runtime.Capture.MirrorStatus> MirrorAsync(Ltb.Runtime.Capture.MirrorRequest request, bool remove, CancellationToken ct) =>
        AgentOf(request.Lab, request.Node).MirrorAsync(request, remove, ct);

    /// <summary>Resource use is sampled per host (the controller asks each host's agent), never through a lab's agent.</summary>
    public Task<HostUsage> UsageAsync(CancellationToken ct) =>
        throw new NotSupportedException("resource use is sampled per host: ask the agent of each host the lab runs on");

    public Task<NodeDetails> DescribeNodeAsync(string lab, string node, CancellationToken ct) => AgentOf(lab, node).DescribeNodeAsync(lab, node, ct);

    public Task SnapshotNodeAsync(NodeSnapshotRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, CancellationToken ct) =>
        AgentOf(request.Lab, request.Node).SnapshotNodeAsync(request, write, ct);
}
