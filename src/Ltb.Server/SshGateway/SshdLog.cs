using System.Text.RegularExpressions;

namespace Ltb.Server.SshGateway;

/// <summary>What one line of a connection's sshd log (LogLevel DEBUG1, -e) tells the gateway; null: nothing it records.</summary>
public abstract record SshdEvent
{
    /// <summary>sshd accepted the key with this fingerprint ("SHA256:...").</summary>
    public sealed record LoggedIn(string Fingerprint) : SshdEvent;

    /// <summary>The client asked for a key sshd then refused, or the user is not the gateway's account.</summary>
    public sealed record Attempted : SshdEvent;

    /// <summary>A local forwarding (`ssh -L`, `-W`, `-J`) to host:port was allowed by the key's permitopen list.</summary>
    public sealed record Forwarded(string Host, int Port) : SshdEvent;

    /// <summary>A local forwarding to host:port was refused (not one of the user's nodes).</summary>
    public sealed record ForwardRefused(string Host, int Port) : SshdEvent;
}

public static partial class SshdLog
{
    public static SshdEvent? Parse(string line)
    {
        if (Accepted().Match(line) is { Success: true } a)
        {
            return new SshdEvent.LoggedIn(a.Groups[1].Value);
        }
        if (Forward().Match(line) is { Success: true } f)
        {
            return new SshdEvent.Forwarded(f.Groups[1].Value, int.Parse(f.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        if (Refused().Match(line) is { Success: true } r)
        {
            return new SshdEvent.ForwardRefused(r.Groups[1].Value, int.Parse(r.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        return Attempt().IsMatch(line) ? new SshdEvent.Attempted() : null;
    }

    [GeneratedRegex(@"^Accepted publickey for \S+ from .* ssh2: \S+ (SHA256:[A-Za-z0-9+/=]+)")]
    private static partial Regex Accepted();

    // sshd checks the key's permitopen list before it starts connecting: this line is logged for allowed destinations only.
    [GeneratedRegex(@"connect_next: start for host (\S+) \(\[.*\]:(\d+)\)$")]
    private static partial Regex Forward();

    [GeneratedRegex(@"^Received request from .* to connect to host (\S+) port (\d+), but the request was denied\.")]
    private static partial Regex Refused();

    [GeneratedRegex(@"userauth-request for user \S+ service ssh-connection method publickey")]
    private static partial Regex Attempt();
}
