using Ltb.Runtime.Nodes;
using Ltb.Topology.Catalog;

namespace Ltb.Server.Consoles.Targets;

/// <summary>
/// The node's serial console (VM nodes): the agent of the lab's host connects to QEMU's console socket and streams it
/// (first the end of the console log, then the live line). Works for local and remote hosts alike; the socket itself is
/// reachable only by root on the lab host, never over the network. Failures are the runtime's (LabRuntimeException).
/// </summary>
public sealed class SerialConsoleTarget : IConsoleTarget
{
    public ConsoleType Type => ConsoleType.Serial;

    public Task<IExecSession> OpenAsync(ConsoleTargetRequest request, CancellationToken ct) =>
        request.Agent.OpenExecSessionAsync(new ExecSessionRequest(request.LabRuntimeName, request.Node, [], true, request.Size) { NodeConsole = true }, ct);
}
