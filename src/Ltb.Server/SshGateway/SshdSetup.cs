using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Ltb.Contracts;

namespace Ltb.Server.SshGateway;

/// <summary>
/// Makes what sshd needs to serve the gateway, at each start: the gateway account (created once), the host keys (made
/// once, kept), and in the runtime folder sshd's configuration, the key-lookup and session scripts and the secret.
/// Nothing here touches the host's own sshd or its configuration.
/// </summary>
public sealed class SshdSetup(SshGatewayOptions options, string hostKeyDirectory, string runtimeDirectory)
{
    public static readonly string[] HostKeyTypes = ["ed25519", "ecdsa", "rsa"];

    public string ConfigFile => Path.Combine(runtimeDirectory, "sshd_config");

    /// <summary>What sshd runs for a session: the script, then the key's id (<see cref="AuthorizedKeyLine"/>).</summary>
    public string SessionScript => Path.Combine(runtimeDirectory, "session");

    /// <summary>Removes the runtime folder (the secret with it) when the gateway stops; sessions still open keep running.</summary>
    public void Remove()
    {
        try
        {
            Directory.Delete(runtimeDirectory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next start to rewrite.
        }
    }

    private string KeysScript => Path.Combine(runtimeDirectory, "authorized-keys");

    private string SecretFile => Path.Combine(runtimeDirectory, "secret");

    private string SecretHeaderFile => Path.Combine(runtimeDirectory, "secret-header");

    private const string Curl = "/usr/bin/curl";

    /// <summary>Writes everything; <paramref name="command"/> is the `ltb` program, <paramref name="serverUrl"/> where it finds the API.</summary>
    public async Task PrepareAsync(string command, string serverUrl, GatewaySecret secret, CancellationToken ct)
    {
        foreach (var path in new[] { runtimeDirectory, command, options.Sshd })
        {
            // These go into sshd's configuration and the authorized_keys lines: no character there may need quoting.
            if (path.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '\\' or '%'))
            {
                throw new InvalidOperationException($"the SSH gateway cannot use the path '{path}': it must not contain spaces, quotes, '\\' or '%'");
            }
        }
        if (!File.Exists(options.Sshd))
        {
            throw new InvalidOperationException($"the SSH gateway needs OpenSSH's sshd at {options.Sshd} (apt-get install openssh-server)");
        }
        if (!File.Exists(Curl))
        {
            throw new InvalidOperationException($"the SSH gateway's key lookup needs {Curl} (apt-get install curl)");
        }
        var home = await EnsureAccountAsync(ct);
        CreateRootFolder(runtimeDirectory);
        CreateRootFolder(home);
        Directory.CreateDirectory("/run/sshd"); // sshd's privilege separation folder (Debian's sshd expects it)
        await EnsureHostKeysAsync(ct);
        foreach (var (file, text) in new[] { (SecretFile, secret.Value), (SecretHeaderFile, $"{SshGatewayConventions.SecretHeader}: {secret.Value}") })
        {
            await WriteAsync(file, text + "\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, ct);
            await RunAsync("chgrp", [options.Account, file], ct);
        }
        var dotnetRoot = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead
            | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        await WriteAsync(KeysScript, KeysScriptText(serverUrl), executable, ct);
        await WriteAsync(SessionScript, SessionScriptText(command, serverUrl, dotnetRoot), executable, ct);
        await WriteAsync(ConfigFile, Config(), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, ct);
    }

    /// <summary>
    /// sshd runs this for every key a client offers (twice for the one it accepts), so it is curl, which starts in
    /// milliseconds, not a .NET program. The secret goes in a header read from a file: a command line is readable by
    /// every local user.
    /// </summary>
    private string KeysScriptText(string serverUrl) =>
        $"""
        #!/bin/sh
        # Written by ltb serve at each start: sshd's AuthorizedKeysCommand, the authorized_keys line of the key with fingerprint $1.
        exec {Curl} -fsS --max-time 15 -G -H @{Quote(SecretHeaderFile)} --data-urlencode "fingerprint=$1" {Quote(serverUrl + "/" + ApiConventions.Prefix + "/ssh-gateway/authorized-keys")}

        """;

    private string SessionScriptText(string command, string serverUrl, string dotnetRoot) =>
        $"""
        #!/bin/sh
        # Written by ltb serve at each start: what sshd runs for a session of the key whose id is $1.
        export DOTNET_ROOT={Quote(dotnetRoot)} DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_gcServer=0 DOTNET_TieredPGO=0
        exec {Quote(command)} gateway session --server {Quote(serverUrl)} --secret-file {Quote(SecretFile)} -- "$1"

        """;

    /// <summary>
    /// Keys only, one account, nothing but local forwarding (each key line narrows it to its owner's nodes), LTB_TARGET
    /// the only variable a client may send, and a log level that names each forwarding (the listener reads it).
    /// </summary>
    private string Config()
    {
        var text = new StringBuilder("# Written by ltb serve at each start; sshd runs as `sshd -i` per connection, started by the server.\n");
        foreach (var type in HostKeyTypes)
        {
            text.Append($"HostKey {Path.Combine(hostKeyDirectory, $"ssh_host_{type}_key")}\n");
        }
        text.Append($"""
            PidFile none
            AllowUsers {options.Account}
            AuthenticationMethods publickey
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            HostbasedAuthentication no
            PermitRootLogin no
            UsePAM no
            AuthorizedKeysFile none
            AuthorizedKeysCommand {KeysScript} %f
            AuthorizedKeysCommandUser {options.Account}
            AllowTcpForwarding local
            PermitListen none
            AllowStreamLocalForwarding no
            AllowAgentForwarding no
            X11Forwarding no
            PermitTunnel no
            GatewayPorts no
            PermitUserRC no
            PermitUserEnvironment no
            AcceptEnv LTB_TARGET
            Subsystem sftp {SshGatewayConventions.SftpSubsystem}
            PrintMotd no
            PrintLastLog no
            UseDNS no
            LoginGraceTime 30
            MaxAuthTries 6
            MaxSessions 10
            ClientAliveInterval 30
            ClientAliveCountMax 4
            StrictModes yes
            LogLevel DEBUG1

            """);
        return text.ToString();
    }

    /// <summary>The account's home folder (created with the account when it is missing).</summary>
    private async Task<string> EnsureAccountAsync(CancellationToken ct)
    {
        var entry = await RunAsync("getent", ["passwd", options.Account], ct, allowFailure: true);
        if (entry.Length == 0)
        {
            await RunAsync("useradd", ["--system", "--no-create-home", "--home-dir", Path.Combine("/run/ltb", "home"), "--shell", "/bin/sh",
                options.Account], ct);
            entry = await RunAsync("getent", ["passwd", options.Account], ct);
        }
        // A new account is locked ('!'); sshd refuses locked accounts even for keys. '*' is no password, not locked.
        await RunAsync("usermod", ["-p", "*", options.Account], ct);
        return entry.Trim().Split(':') is { Length: >= 6 } fields && fields[5].StartsWith('/') ? fields[5] : "/run/ltb/home";
    }

    private async Task EnsureHostKeysAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(hostKeyDirectory);
        File.SetUnixFileMode(hostKeyDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var type in HostKeyTypes)
        {
            var file = Path.Combine(hostKeyDirectory, $"ssh_host_{type}_key");
            if (!File.Exists(file))
            {
                await RunAsync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "ltb ssh gateway", "-f", file], ct);
            }
        }
    }

    /// <summary>A folder of root's that only root writes: sshd checks every folder above its key command.</summary>
    private static void CreateRootFolder(string path)
    {
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead
            | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    private static async Task WriteAsync(string path, string content, UnixFileMode mode, CancellationToken ct)
    {
        var temporary = path + ".new";
        await File.WriteAllTextAsync(temporary, content, ct);
        File.SetUnixFileMode(temporary, mode);
        File.Move(temporary, path, overwrite: true);
    }

    private static string Quote(string text) => "'" + text.Replace("'", "'\\''") + "'";

    private static async Task<string> RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken ct, bool allowFailure = false)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0 && !allowFailure)
        {
            throw new InvalidOperationException($"preparing the SSH gateway: {program} {string.Join(' ', arguments)} failed: {(await error).Trim()}");
        }
        return process.ExitCode == 0 ? await output : "";
    }
}
