using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Agent;

/// <summary>
/// The control plane's view of the agent on one lab host. The local host's agent runs in the server process
/// (<see cref="RuntimeAgent"/>); a remote host runs the same <see cref="RuntimeAgent"/> behind `ltb agent`, which the
/// controller reaches with <see cref="GrpcLabHostAgent"/> (contract: Protos/agent.proto). Inputs and outputs are the runtime's
/// serialisable records (<see cref="LabPlan"/>, <see cref="LabStatus"/>, <see cref="RuntimeEvent"/>) and plain values,
/// so that a remote implementation only has to ship them. Labs are named by their runtime name (unique per host).
/// </summary>
public interface ILabHostAgent
{
    /// <summary>Whether the agent answers; the message says why not.</summary>
    Task<AgentHealth> CheckAsync(CancellationToken ct);

    /// <summary>Deploys a new lab; failures throw <see cref="LabRuntimeException"/> (lab, node, cause).</summary>
    Task<LabStatus> DeployAsync(LabPlan plan, AgentDeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct);

    /// <summary>Applies a changed plan onto the running lab of the same name (unchanged nodes keep running).</summary>
    Task<LabStatus> ApplyAsync(LabPlan plan, AgentDeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct);

    /// <summary>Removes everything of the lab; also works on half-deployed labs and on labs that are already gone.</summary>
    Task DestroyAsync(string lab, IProgress<RuntimeEvent>? progress, CancellationToken ct);

    Task<LabStatus> InspectAsync(string lab, CancellationToken ct);

    /// <summary>The labs this agent created and still holds something of (its own, not other installations' on the same engine).</summary>
    Task<IReadOnlyList<string>> ListLabsAsync(CancellationToken ct);

    /// <summary>
    /// Runs an argument vector (never a shell line) in a node and returns its output and exit code. At most
    /// <paramref name="outputLimitBytes"/> of output (and never more than ContainerExec.HardLimitBytes, the host's own
    /// cap): past it the command is killed and the result says Truncated.
    /// </summary>
    Task<ExecResult> ExecAsync(string lab, string node, IReadOnlyList<string> command, TimeSpan timeout, long outputLimitBytes,
        CancellationToken ct);

    Task<NodeStatus> NodeActionAsync(string lab, string node, NodeAction action, CancellationToken ct);

    Task SetLinkStateAsync(string lab, string node, string iface, bool up, CancellationToken ct);

    /// <summary>
    /// Streams a node's output (stdout and stderr, as the engine keeps it) to <paramref name="write"/>: the last
    /// <paramref name="tail"/> lines (null: all), then, with <paramref name="follow"/>, what it writes until cancelled or
    /// the node stops. The first piece is empty once the stream is open, so that a caller can answer before the node
    /// writes anything; failures (no such lab or node) come before it. Without <paramref name="follow"/> at most
    /// <paramref name="limitBytes"/> (clamped to ContainerExec.HardLimitBytes) are sent: true when the output was cut there.
    /// Following streams as the reader takes it (bounded buffers), without a limit.
    /// </summary>
    Task<bool> NodeLogsAsync(string lab, string node, int? tail, bool follow, long limitBytes, Func<string, CancellationToken, ValueTask> write,
        CancellationToken ct);

    /// <summary>
    /// Starts an interactive command in a node (stdin open, optionally a TTY): the caller writes stdin, resizes and
    /// signals, reads the output until it ends and then asks the exit code; disposing it ends the command if it still
    /// runs. Failures (no such lab or node, the node not running) throw before it returns.
    /// </summary>
    Task<IExecSession> OpenExecSessionAsync(ExecSessionRequest request, CancellationToken ct);

    /// <summary>
    /// Captures one interface of a node (tcpdump in its network namespace on the node's host) and streams the pcap bytes
    /// to <paramref name="write"/>: the first piece is empty once the capture runs (failures, such as a filter libpcap
    /// refuses, an <see cref="Ltb.Runtime.Capture.InvalidCaptureFilterException"/>, come before it), then the bytes as they
    /// come, until cancelled (the capture process is killed then) or the interface goes. The stream waits for its reader.
    /// </summary>
    Task CaptureAsync(Ltb.Runtime.Capture.PacketCaptureRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write,
        CancellationToken ct);

    /// <summary>
    /// Creates the mirror interface <paramref name="request"/> names on the host of its node, or with
    /// <paramref name="remove"/> removes the one of that name (then only the lab, node and name count).
    /// </summary>
    Task<Ltb.Runtime.Capture.MirrorStatus> MirrorAsync(Ltb.Runtime.Capture.MirrorRequest request, bool remove, CancellationToken ct);

    /// <summary>
    /// A node as its host describes it (device information): image and digests, uptime, disk, labels, interfaces with
    /// addresses, state, counters and peers, the startup configuration it was given (bounded, <see cref="NodeDetails.StartupConfigLimit"/>).
    /// </summary>
    Task<NodeDetails> DescribeNodeAsync(string lab, string node, CancellationToken ct);

    /// <summary>
    /// The host's resource use and that of every lab it holds (its own labs, by runtime name): a sample at most a couple
    /// of seconds old; CPU percentages relative to the previous sample (the controller samples every few seconds).
    /// </summary>
    Task<HostUsage> UsageAsync(CancellationToken ct);

    /// <summary>
    /// Saves a running node's state (a snapshot, issue #15): the save-config command first, then what differs from its
    /// image, streamed to <paramref name="write"/> as the tar <see cref="NodeSnapshotStream"/> describes, in pieces, as
    /// the reader takes them. Failures (no such node, over the request's limit) throw; what was written is then void.
    /// </summary>
    Task SnapshotNodeAsync(NodeSnapshotRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, CancellationToken ct);
}

public sealed record AgentHealth(bool Reachable, string Message);

public enum NodeAction { Stop, Start, Restart }

/// <summary>What a deployment may choose (serialisable; the runtime's <see cref="DeployOptions"/> is built from it).</summary>
/// <param name="FilesRoot">The controller-side folder of the lab's own files (uploaded startup configs and binds): a
/// remote agent receives its content with the plan and rewrites the plan's paths under it. Null: nothing to ship.</param>
/// <param name="VmImagesRoot">The controller's VM image library: a remote agent receives the disks the plan's VM nodes
/// boot from before the deployment, unless it has them cached. Null: nothing to send.</param>
public sealed record AgentDeployOptions(bool Rollback = false, int TimeoutSeconds = 600, string? FilesRoot = null, bool Converge = false,
    string? VmImagesRoot = null);

