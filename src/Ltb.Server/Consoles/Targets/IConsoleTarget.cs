using Ltb.Runtime.Nodes;
using Ltb.Topology.Catalog;

namespace Ltb.Server.Consoles.Targets;

/// <summary>
/// What a console connects to (docs/architecture.md, "Consoles"): a shell in the container, the node's SSH server, its
/// telnet port. A target opens one interactive stream in the shape every console session takes (<see cref="IExecSession"/>),
/// so sessions, replay, watchers and bounds are the same for all of them. To add one: a class here, an entry in
/// <see cref="ConsoleTargets"/>, a line in docs/api.md ("Consoles").
/// </summary>
public interface IConsoleTarget
{
    ConsoleType Type { get; }

    /// <summary>Opens the stream; a node that cannot be reached this way is a <see cref="ConsoleTargetException"/>.</summary>
    Task<IExecSession> OpenAsync(ConsoleTargetRequest request, CancellationToken ct);
}

/// <summary>
/// Everything a target may need about the node: the lab's runtime name and the agent of its host (the shell), the
/// management IPv4 address as the host reports it (ssh, telnet), the login (the node type's credentials, or the user's
/// own for ssh), the first terminal size, and the node type's console port (null: the target's usual one).
/// </summary>
public sealed record ConsoleTargetRequest(string LabRuntimeName, string LabName, string Node, ILabHostAgent Agent, string? MgmtIpv4,
    Credentials? Login, TerminalSize? Size, int? Port = null)
{
    /// <summary>The terminal size to start with: the client's, or 24x80.</summary>
    public TerminalSize InitialSize => Size is { IsValid: true } s ? s : new TerminalSize(24, 80);

    /// <summary>The management address, or why there is none (a node without a management network, or not running).</summary>
    public string RequireAddress(ConsoleType target) => MgmtIpv4 ?? throw new ConsoleTargetException(NoAddress(Node, LabName, target));

    public static string NoAddress(string node, string lab, ConsoleType target) =>
        $"node '{node}' of lab '{lab}' has no management IPv4 address, so a {ConsoleTargets.Name(target)} console cannot reach it; " +
        "is the node running (ltb lab status) and on the management network? target=shell opens a shell in the container.";
}

/// <summary>A console target cannot reach the node: the message names the node and what to do (never a password).</summary>
public sealed class ConsoleTargetException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The console targets, and the rule that picks one for a node.</summary>
public static class ConsoleTargets
{
    private static readonly IReadOnlyDictionary<ConsoleType, IConsoleTarget> ByType = new IConsoleTarget[]
    {
        new ShellConsoleTarget(), new SshConsoleTarget(), new TelnetConsoleTarget(), new SerialConsoleTarget(),
    }.ToDictionary(t => t.Type);

    /// <summary>The names a user may ask for (target=...).</summary>
    public static IReadOnlyList<string> Names { get; } = [.. ByType.Keys.Order().Select(Name)];

    public static string Name(ConsoleType type) => type.ToString().ToLowerInvariant();

    /// <summary>A user's override by name; null for a name that is not one of <see cref="Names"/>.</summary>
    public static ConsoleType? Parse(string name) =>
        Enum.TryParse<ConsoleType>(name, ignoreCase: true, out var t) && name.All(char.IsAsciiLetter) && ByType.ContainsKey(t) ? t : null;

    /// <summary>
    /// The target of a node: the user's override, else the node type's console; an unknown kind gets a shell (as before
    /// targets existed). Null with a reason when the node type has no console LTB can open.
    /// </summary>
    public static (IConsoleTarget? Target, string? Refusal) For(NodeType? type, ConsoleType? chosen, string node)
    {
        var wanted = chosen ?? type?.Console ?? ConsoleType.Shell;
        if (ByType.TryGetValue(wanted, out var target))
        {
            return (target, null);
        }
        return (null, $"node '{node}' ({type?.Name}) has no console; a bridge or an external node has no command line to open");
    }
}
