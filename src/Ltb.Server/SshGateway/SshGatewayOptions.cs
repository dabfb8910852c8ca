namespace Ltb.Server.SshGateway;

/// <summary>
/// The SSH gateway (`ltb serve --ssh-port`): the server accepts SSH connections itself and hands each to a new
/// `sshd -i` (Debian's OpenSSH, never the host's own sshd service), which authenticates the user's key through LTB and
/// runs `ltb gateway session` for them. docs/architecture.md, "SSH gateway", tells the whole path.
/// </summary>
public sealed class SshGatewayOptions
{
    public const int DefaultPort = 2222;

    /// <summary>The TCP port; 0 picks a free one (the bound port is in <see cref="SshGatewayListener.Port"/>).</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>The address to listen on (all addresses by default).</summary>
    public string Address { get; set; } = "::";

    /// <summary>
    /// The Unix account every gateway login uses (OpenSSH logs in only existing accounts): created, without a password
    /// and without a shell of its own, if missing. The user's key, not the account, says which LTB user is connecting.
    /// </summary>
    public string Account { get; set; } = "ltb";

    public string Sshd { get; set; } = "/usr/sbin/sshd";

    /// <summary>
    /// The `ltb` program sshd runs for key lookups and sessions (as <see cref="Account"/>); default: this process's own
    /// executable when it is `ltb` (as under `ltb serve`).
    /// </summary>
    public string? Command { get; set; }

    /// <summary>
    /// Where sshd's configuration and the gateway's scripts are written at each start. sshd requires every folder above
    /// its key command to be root's and writable by no one else, which rules out /tmp and most data folders.
    /// </summary>
    public string? RuntimeDirectory { get; set; }

    /// <summary>The host keys (kept, so that users' known_hosts stay valid); default DATA/ssh-gateway.</summary>
    public string? HostKeyDirectory { get; set; }

    /// <summary>SSH connections open at once, and from one client address.</summary>
    public int MaxConnections { get; set; } = 256;

    public int MaxConnectionsPerAddress { get; set; } = 32;

    /// <summary>
    /// New connections one client address may open per minute: each costs an sshd and, per key offered, a key lookup
    /// (a program start), so a client cannot make the server start them without end.
    /// </summary>
    public int ConnectionsPerMinutePerAddress { get; set; } = 60;

    /// <summary>The host name users put in their ssh commands (access information); default: the host the caller used for the API.</summary>
    public string? PublicHost { get; set; }

    public string RuntimeDirectoryFor(int port) => RuntimeDirectory ?? $"/run/ltb/ssh-gateway-{port}";
}
