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
public sealed class RuntimeAgent(string stateDirectory, string? dockerEndpoint = null, string description = "in-process")
    : ILabHostAgent, IDisposable
{
    private readonly Lazy<(DockerEngine Engine, LabRuntime Runtime)> _runtime = new(() =>
    {
        var engine = DockerEngine.Connect(dockerEndpoint);
        return (engine, new LabRuntime(engine, options: new RuntimeOptions { StateDirectory = stateDirectory }));
    });

    public string StateDirectory => stateDirectory;

    /// <summary>The engine this agent drives (connected on first use).</summary>
    public DockerEngine Engine => _runtime.Value.Engine;

    private LabRuntime Runtime => _runtime.Value.Runtime;

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

    public async Task<ExecResult> ExecAsync(string lab, string node, IReadOnlyList<string> command, TimeSpan timeout, long outputLimitBytes,
        CancellationToken ct)
    {
        await RequireRunningAsync(lab, node, ct);
        try
        {
            return await _runtime.Value.Engine.ExecAsync(Names.Container(lab, node), command, timeout, outputLimitBytes, ct);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new LabRuntimeException(lab, node, $"the command did not finish within {timeout.TotalSeconds:0} s");
        }
        catch (global::Docker.DotNet.DockerApiException e)
        {
            throw new LabRuntimeException(lab, node, $"the command cannot run: {e.ResponseBody?.Trim() ?? e.Message}");
        }
    }

    public async Task<IExecSession> OpenExecSessionAsync(ExecSessionRequest request, CancellationToken ct)
    {
        await RequireRunningAsync(request.Lab, request.Node, ct);
        try
        {
            return await InteractiveExec.StartAsync(_runtime.Value.Engine, Names.Container(request.Lab, request.Node), request.Command,
                request.Tty, request.Size, ct);
        }
        catch (global::Docker.DotNet.DockerApiException e)
        {
            throw new LabRuntimeException(request.Lab, request.Node, $"the command cannot run: {e.ResponseBody?.Trim() ?? e.Message}");
        }
    }

    private async Task RequireRunningAsync(string lab, string node, CancellationToken ct)
    {
        var status = await Runtime.InspectAsync(lab, ct);
        var n = status.Nodes.FirstOrDefault(x => x.Name == node)
            ?? throw new LabRuntimeException(lab, node, "no such node in the lab");
        if (n.State != NodeState.Running)
        {
            throw new LabRuntimeException(lab, node, $"the node is {n.State.ToString().ToLowerInvariant()}, not running; start it first");
        }
    }

    public Task<NodeStatus> NodeActionAsync(string lab, string node, NodeAction action, CancellationToken ct) => action switch
    {
        NodeAction.Stop => Runtime.StopNodeAsync(lab, node, ct: ct),
        NodeAction.Start => Runtime.StartNodeAsync(lab, node, ct),
        _ => Runtime.RestartNodeAsync(lab, node, ct),
    };

    public Task SetLinkStateAsync(string lab, string node, string iface, bool up, CancellationToken ct) =>
        Runtime.SetLinkStateAsync(lab, node, iface, up, ct);

    public async Task<bool> NodeLogsAsync(string lab, string node, int? tail, bool follow, long limitBytes,
        Func<string, CancellationToken, ValueTask> write, CancellationToken ct)
    {
        try
        {
            return await Runtime.StreamNodeLogsAsync(lab, node, tail, follow, follow ? null : limitBytes, write, ct);
        }
        catch (global::Docker.DotNet.DockerApiException e)
        {
            throw new LabRuntimeException(lab, node, $"its output cannot be read: {e.ResponseBody?.Trim() ?? e.Message}");
        }
    }

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

