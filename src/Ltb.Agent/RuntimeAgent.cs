using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Agent;

/// <summary>
/// The agent of one host: <see cref="LabRuntime"/> on one Docker engine, with its state folder. The server's local host
/// uses it in-process (the embedded default); `ltb agent` serves it over gRPC on a remote host. The engine is
/// connected on first use so that a process without Docker still starts (its lab calls then fail with the reason).
/// </summary>
/// <param name="stateDirectory">The folder where this agent keeps one sub-folder per lab it created (what makes a lab "its own").</param>
/// <param name="dockerEndpoint">The engine's address; null: DOCKER_HOST or the default socket.</param>
/// <param name="description">What <see cref="CheckAsync"/> reports ("in-process", "agent NAME").</param>
/// <param name="controllerVmImages">The controller's VM images on this host (its library on the local host, the agent's
/// cache of them on a remote one: <see cref="Ltb.Runtime.Nodes.Vm.VmImageLibrary"/>), searched before the host's own library.</param>
public sealed class RuntimeAgent(string stateDirectory, string? dockerEndpoint = null, string description = "in-process",
    string? controllerVmImages = null)
    : ILabHostAgent, IDisposable
{
    private readonly Lazy<(DockerEngine Engine, LabRuntime Runtime)> _runtime = new(() =>
    {
        var engine = DockerEngine.Connect(dockerEndpoint);
        return (engine, new LabRuntime(engine, options: new RuntimeOptions { StateDirectory = stateDirectory, VmImageCacheDirectory = controllerVmImages }));
    });

    public string StateDirectory => stateDirectory;

    /// <summary>Where the controller's VM images are on this host (null: nowhere, only the host's own library).</summary>
    public string? ControllerVmImages => controllerVmImages;

    /// <summary>The engine this agent drives (connected on first use).</summary>
    public DockerEngine Engine => _runtime.Value.Engine;

    private LabRuntime Runtime => _runtime.Value.Runtime;

    /// <summary>The catalog's node kinds this host runs: those of its registered node drivers (what placement matches).</summary>
    public IReadOnlyList<string> Kinds => Runtime.Drivers.Kinds(Ltb.Topology.Catalog.NodeTypeCatalog.BuiltIn);

    public Task<AgentHealth> CheckAsync(CancellationToken ct) =>
        Task.FromResult(new AgentHealth(true, description));

    public Task<LabStatus> DeployAsync(LabPlan plan, AgentDeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct) =>
        Runtime.DeployAsync(plan, progress, ToRuntime(options), ct);

    public Task<LabStatus> ApplyAsync(LabPlan plan, AgentDeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct) =>
        Runtime.ApplyAsync(plan, progress, ToRuntime(options), ct);

    public Task DestroyAsync(string lab, IProgress<RuntimeEvent>? progress, CancellationToken ct) =>
        Runtime.DestroyAsync(lab, progress, ct);

    public Task<LabStatus> InspectAsync(string lab, CancellationToken ct) => Runtime.InspectAsync(lab, ct);

    public async Task<IReadOnlyList<string>> ListLabsAsync(CancellationToken ct)
    {
        // The engine may hold labs of other LTB installations (tests, another server): only those with a folder in this
        // agent's state directory are its own. The runtime writes that folder before it creates anything and removes it last.
        var labs = await Runtime.ListLabsAsync(ct);
        return labs.Where(l => Directory.Exists(Path.Combine(Runtime.StateDirectory, l))).ToList();
    }

    public Task<ExecResult> ExecAsync(string lab, string node, IReadOnlyList<string> command, TimeSpan timeout, long outputLimitBytes,
        CancellationToken ct) => Runtime.ExecAsync(lab, node, command, timeout, outputLimitBytes, ct);

    public Task<IExecSession> OpenExecSessionAsync(ExecSessionRequest request, CancellationToken ct) =>
        Runtime.OpenExecSessionAsync(request, ct);

    public Task<NodeStatus> NodeActionAsync(string lab, string node, NodeAction action, CancellationToken ct) => action switch
    {
        NodeAction.Stop => Runtime.StopNodeAsync(lab, node, ct: ct),
        NodeAction.Start => Runtime.StartNodeAsync(lab, node, ct),
        _ => Runtime.RestartNodeAsync(lab, node, ct),
    };

    public Task SetLinkStateAsync(string lab, string node, string iface, bool up, CancellationToken ct) =>
        Runtime.SetLinkStateAsync(lab, node, iface, up, ct);

    public Task<bool> NodeLogsAsync(string lab, string node, int? tail, bool follow, long limitBytes,
        Func<string, CancellationToken, ValueTask> write, CancellationToken ct) =>
        Runtime.StreamNodeLogsAsync(lab, node, tail, follow, follow ? null : limitBytes, write, ct);

    public Task CaptureAsync(Ltb.Runtime.Capture.PacketCaptureRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write,
        CancellationToken ct) => Runtime.CaptureAsync(request, write, ct);

    public Task<Ltb.Runtime.Capture.MirrorStatus> MirrorAsync(Ltb.Runtime.Capture.MirrorRequest request, bool remove, CancellationToken ct) =>
        remove ? Runtime.RemoveMirrorAsync(request.Lab, request.Name, ct) : Runtime.CreateMirrorAsync(request, ct);

    public async Task<HostUsage> UsageAsync(CancellationToken ct) => await Runtime.SampleUsageAsync(await ListLabsAsync(ct), ct);

    public Task<NodeDetails> DescribeNodeAsync(string lab, string node, CancellationToken ct) => Runtime.DescribeNodeAsync(lab, node, ct);

    public Task SnapshotNodeAsync(NodeSnapshotRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write,
        CancellationToken ct) => Runtime.SnapshotNodeAsync(request, write, ct);

    private static DeployOptions ToRuntime(AgentDeployOptions o) => new()
    {
        OnFailure = o.Rollback ? FailurePolicy.Rollback : FailurePolicy.KeepFailed,
        DeployTimeout = TimeSpan.FromSeconds(o.TimeoutSeconds),
        Converge = o.Converge,
    };

    public void Dispose()
    {
        if (_runtime.IsValueCreated)
        {
            _runtime.Value.Engine.Dispose();
        }
    }
}

