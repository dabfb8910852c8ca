namespace Ltb.Contracts;

/// <summary>
/// What the server's SSH gateway and what sshd runs for it (the key lookup script, `ltb gateway session`) agree on.
/// Users see only <see cref="TargetVariable"/> (docs/api.md, "SSH gateway").
/// </summary>
public static class SshGatewayConventions
{
    /// <summary>`Authorization: LtbGateway KEYID SECRET`: a session acting as the owner of SSH key KEYID.</summary>
    public const string Scheme = "LtbGateway";

    /// <summary>The key lookup's header with the gateway secret.</summary>
    public const string SecretHeader = "X-Ltb-Gateway-Secret";

    /// <summary>The SSH client's address, which the session passes on for the audit log.</summary>
    public const string ClientHeader = "X-Ltb-Ssh-Client";

    /// <summary>
    /// LAB/NODE for sessions that cannot name it in the command (sftp, scp): `ssh -o SetEnv=LTB_TARGET=LAB/NODE`, or
    /// `SetEnv` in ~/.ssh/config (the access information's snippet has it).
    /// </summary>
    public const string TargetVariable = "LTB_TARGET";

    /// <summary>The SSH client's address, set by the server for each connection's sshd (which sees only a pipe).</summary>
    public const string ClientVariable = "LTB_SSH_CLIENT";

    /// <summary>What sshd passes as the command of an sftp subsystem request (sshd_config's Subsystem line).</summary>
    public const string SftpSubsystem = "ltb-sftp";
}
