using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>
/// What an SSH gateway user asked for, from what sshd passes to the session command: the command line they gave
/// (SSH_ORIGINAL_COMMAND) and <see cref="SshGatewayConventions.TargetVariable"/>. The forms (docs/api.md, "SSH gateway"):
/// <c>LAB/NODE</c> a shell, <c>LAB/NODE [--] COMMAND</c> a command, an sftp subsystem or any command with LTB_TARGET set.
/// </summary>
internal abstract record GatewaySessionRequest
{
    public const int MaxTargetLength = 300;

    /// <summary>No target: the session tells the user who they are and how to name one.</summary>
    public sealed record Help(string? Problem) : GatewaySessionRequest;

    public sealed record Shell(string Lab, string Node) : GatewaySessionRequest;

    /// <summary>A command line, run by the node's /bin/sh as sshd runs one with the user's shell.</summary>
    public sealed record Command(string Lab, string Node, string Line) : GatewaySessionRequest;

    public sealed record Sftp(string Lab, string Node) : GatewaySessionRequest;

    public static GatewaySessionRequest Parse(string? original, string? targetVariable)
    {
        var line = original?.Trim() ?? "";
        if (targetVariable is { Length: > 0 } named)
        {
            return Target(named) is not { } t ? new Help($"{SshGatewayConventions.TargetVariable} '{Shorten(named)}' is not LAB/NODE")
                : line.Length == 0 ? new Shell(t.Lab, t.Node)
                : line == SshGatewayConventions.SftpSubsystem ? new Sftp(t.Lab, t.Node)
                : new Command(t.Lab, t.Node, line);
        }
        if (line == SshGatewayConventions.SftpSubsystem)
        {
            return new Help($"sftp and scp name their node with {SshGatewayConventions.TargetVariable}: -o SetEnv={SshGatewayConventions.TargetVariable}=LAB/NODE");
        }
        if (line.Length == 0)
        {
            return new Help(null);
        }
        var space = line.IndexOfAny([' ', '\t']);
        var first = space < 0 ? line : line[..space];
        if (Target(first) is not { } target)
        {
            return new Help($"'{Shorten(first)}' is not LAB/NODE");
        }
        var rest = space < 0 ? "" : line[space..].TrimStart();
        if (rest == "--" || rest.StartsWith("-- ", StringComparison.Ordinal) || rest.StartsWith("--\t", StringComparison.Ordinal))
        {
            rest = rest[2..].TrimStart();
        }
        return rest.Length == 0 ? new Shell(target.Lab, target.Node) : new Command(target.Lab, target.Node, rest);
    }

    private static (string Lab, string Node)? Target(string text)
    {
        var slash = text.IndexOf('/');
        if (text.Length > MaxTargetLength || slash <= 0 || slash == text.Length - 1 || text.IndexOf('/', slash + 1) >= 0
            || text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return null;
        }
        return (text[..slash], text[(slash + 1)..]);
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..60] + "...";
}
