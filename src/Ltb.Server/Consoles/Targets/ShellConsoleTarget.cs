using Ltb.Runtime.Nodes;
using Ltb.Topology.Catalog;

namespace Ltb.Server.Consoles.Targets;

/// <summary>
/// A login shell in the node's container: an interactive exec with a TTY through the agent of the lab's host (works for
/// local and remote hosts alike; back-pressure reaches the TTY). Failures are the runtime's (LabRuntimeException).
/// </summary>
public sealed class ShellConsoleTarget : IConsoleTarget
{
    public ConsoleType Type => ConsoleType.Shell;

    public Task<IExecSession> OpenAsync(ConsoleTargetRequest request, CancellationToken ct) =>
        request.Agent.OpenExecSessionAsync(new ExecSessionRequest(request.LabRuntimeName, request.Node, ConsoleSessions.LoginShell, true, request.Size), ct);
}
