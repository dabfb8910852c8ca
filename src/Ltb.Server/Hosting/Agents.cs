using Ltb.Server.Data;

namespace Ltb.Server.Hosting;

/// <summary>
/// The control plane's view of the agent on one lab host. The local host's agent runs in this process
/// (<see cref="InProcessAgent"/>); remote hosts get a gRPC client with `ltb agent`. Lab deployment (a later issue)
/// adds its operations here and the runtime (src/Ltb.Runtime) implements them for the in-process agent.
/// </summary>
public interface ILabHostAgent
{
    /// <summary>Whether the agent answers; the message says why not.</summary>
    Task<AgentHealth> CheckAsync(CancellationToken ct);
}

public sealed record AgentHealth(bool Reachable, string Message);

/// <summary>Finds the agent of a host. One implementation per kind of host; the server holds them all.</summary>
public interface IAgentDirectory
{
    /// <summary>The host's agent, or null when none is connected.</summary>
    ILabHostAgent? For(LabHost host);
}

/// <summary>The agent of this machine, living in the server process (the embedded default).</summary>
public sealed class InProcessAgent : ILabHostAgent
{
    public Task<AgentHealth> CheckAsync(CancellationToken ct) =>
        Task.FromResult(new AgentHealth(true, "in-process"));
}

/// <summary>Today only the local host has an agent; remote agents register here when `ltb agent` arrives.</summary>
public sealed class AgentDirectory(InProcessAgent local) : IAgentDirectory
{
    public ILabHostAgent? For(LabHost host) => host.IsLocal ? local : null;
}
