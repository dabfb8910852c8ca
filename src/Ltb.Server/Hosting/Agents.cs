using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Server.Data;

namespace Ltb.Server.Hosting;

/// <summary>
/// The control plane's view of the agent on one lab host. The local host's agent runs in this process
/// (<see cref="InProcessAgent"/>); remote hosts get a gRPC client with `ltb agent`. Inputs and outputs are the runtime's
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

    /// <summary>Runs an argument vector (never a shell line) in a node and returns its output and exit code.</summary>
    Task<ExecResult> ExecAsync(string lab, string node, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct);

    Task<NodeStatus> NodeActionAsync(string lab, string node, NodeAction action, CancellationToken ct);

    Task SetLinkStateAsync(string lab, string node, string iface, bool up, CancellationToken ct);
}

public sealed record AgentHealth(bool Reachable, string Message);

public enum NodeAction { Stop, Start, Restart }

/// <summary>What a deployment may choose (serialisable; the runtime's <see cref="DeployOptions"/> is built from it).</summary>
public sealed record AgentDeployOptions(bool Rollback = false, int TimeoutSeconds = 600);

/// <summary>Finds the agent of a host. One implementation per kind of host; the server holds them all.</summary>
public interface IAgentDirectory
{
    /// <summary>The host's agent, or null when none is connected.</summary>
    ILabHostAgent? For(LabHost host);
}

/// <summary>
/// The agent of this machine, living in the server process (the embedded default): <see cref="LabRuntime"/> on one
/// Docker engine, with its state folder under the server's data folder. The engine is connected on first use so that
/// a server without Docker still starts (its lab calls then fail with the reason).
/// </summary>
public sealed class InProcessAgent(LtbServerOptions serverOptions) : ILabHostAgent, IDisposable
{
    private readonly Lazy<(DockerEngine Engine, LabRuntime Runtime)> _runtime = new(() =>
    {
        var engine = DockerEngine.Connect();
        return (engine, new LabRuntime(engine, options: new RuntimeOptions { StateDirectory = StateDirectoryOf(serverOptions) }));
    });

    /// <summary>The folder where this agent keeps one sub-folder per lab it created (what makes a lab "its own").</summary>
    public static string StateDirectoryOf(LtbServerOptions options) => Path.Combine(options.DataDirectory, "runtime");

    private LabRuntime Runtime => _runtime.Value.Runtime;

    public Task<AgentHealth> CheckAsync(CancellationToken ct) =>
        Task.FromResult(new AgentHealth(true, "in-process"));

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

    public async Task<ExecResult> ExecAsync(string lab, string node, IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct)
    {
        var status = await Runtime.InspectAsync(lab, ct);
        var n = status.Nodes.FirstOrDefault(x => x.Name == node)
            ?? throw new LabRuntimeException(lab, node, "no such node in the lab");
        if (n.State != NodeState.Running)
        {
            throw new LabRuntimeException(lab, node, $"the node is {n.State.ToString().ToLowerInvariant()}, not running; start it first");
        }
        try
        {
            return await _runtime.Value.Engine.ExecAsync(Names.Container(lab, node), command, timeout, ct);
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

    public Task<NodeStatus> NodeActionAsync(string lab, string node, NodeAction action, CancellationToken ct) => action switch
    {
        NodeAction.Stop => Runtime.StopNodeAsync(lab, node, ct: ct),
        NodeAction.Start => Runtime.StartNodeAsync(lab, node, ct),
        _ => Runtime.RestartNodeAsync(lab, node, ct),
    };

    public Task SetLinkStateAsync(string lab, string node, string iface, bool up, CancellationToken ct) =>
        Runtime.SetLinkStateAsync(lab, node, iface, up, ct);

    private static DeployOptions ToRuntime(AgentDeployOptions o) => new()
    {
        OnFailure = o.Rollback ? FailurePolicy.Rollback : FailurePolicy.KeepFailed,
        DeployTimeout = TimeSpan.FromSeconds(o.TimeoutSeconds),
    };

    public void Dispose()
    {
        if (_runtime.IsValueCreated)
        {
            _runtime.Value.Engine.Dispose();
        }
    }
}

/// <summary>Today only the local host has an agent; remote agents register here when `ltb agent` arrives.</summary>
public sealed class AgentDirectory(InProcessAgent local) : IAgentDirectory
{
    public ILabHostAgent? For(LabHost host) => host.IsLocal ? local : null;
}
