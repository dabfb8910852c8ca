using Ltb.Server.Hosting;
using Ltb.Server.SshGateway;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.SshGateway;

/// <summary>
/// A server with its SSH gateway on a free port (the `ltb` program sshd runs is the one this build made), and the
/// OpenSSH client's side of it: keys made with ssh-keygen in a temporary folder, and ssh, scp and sftp run against it.
/// </summary>
public sealed class GatewayServer : SqliteServer
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ltb-ssh-gateway-").FullName;
    private string? _missing;

    public int Port => Server.Services.GetRequiredService<SshGatewayListener>().Port
        ?? throw new InvalidOperationException("the SSH gateway is not listening");

    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        var cli = Path.Combine(Repo.Root, ".artifacts", "bin", "Ltb.Cli", "release", "ltb");
        _missing = !Environment.IsPrivilegedProcess ? "root (the gateway runs sshd and makes its account)"
            : !File.Exists("/usr/sbin/sshd") ? "OpenSSH's sshd (apt-get install openssh-server)"
            : !HostCommand.Exists("ssh") || !HostCommand.Exists("script") ? "the OpenSSH client and script(1)"
            : !File.Exists(cli) ? $"the built ltb program at {cli} (dotnet build LTB.slnx -c Release)"
            : null;
        if (_missing is null)
        {
            options.SshGateway = new SshGatewayOptions { Port = 0, Address = "127.0.0.1", Command = cli };
        }
    }

    protected override async Task SeedAsync()
    {
        if (_missing is null)
        {
            await Server.Services.GetRequiredService<SshGatewayListener>().Ready.WaitAsync(TimeSpan.FromMinutes(1));
        }
    }

    public void RequireGateway()
    {
        Require();
        LabTestSupport.RequireDocker();
        Prerequisite.Require(_missing is null, _missing ?? "");
    }

    /// <summary>A new key pair of <paramref name="type"/> (ed25519, ecdsa, rsa): the private key's file and the public line.</summary>
    public async Task<(string File, string PublicKey)> NewKeyAsync(string type)
    {
        var file = Path.Combine(_folder, $"{type}-{Guid.NewGuid():N}");
        (await HostCommand.RunAsync("ssh-keygen", "-q", "-t", type, "-N", "", "-C", $"test {type}", "-f", file)).EnsureSuccess("ssh-keygen");
        return (file, (await File.ReadAllTextAsync(file + ".pub")).Trim());
    }

    /// <summary>
    /// OpenSSH client options for the gateway: this key only, no known_hosts, no questions; <paramref name="logLevel"/> INFO
    /// shows why a channel was refused.
    /// </summary>
    public IEnumerable<string> Options(string key, string logLevel = "ERROR") =>
    [
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", $"LogLevel={logLevel}", "-o", "ConnectTimeout=20", "-i", key,
    ];

    /// <summary>`ssh -p PORT ltb@127.0.0.1 ARGS...` with <paramref name="key"/>.</summary>
    public Task<HostCommand.Result> SshAsync(string key, string? stdin, params string[] args) =>
        HostCommand.RunAsync("ssh", [.. Options(key), "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "ltb@127.0.0.1", .. args],
            TimeSpan.FromMinutes(2), stdin: stdin);

    /// <summary>
    /// An ~/.ssh/config: <paramref name="entries"/> (default: the gateway as the jump host "gw"), then <paramref name="key"/>
    /// and no questions for every host.
    /// </summary>
    public async Task<string> ClientConfigAsync(string key, string? entries = null)
    {
        var file = Path.Combine(_folder, $"config-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(file, (entries ?? $"Host gw\n  HostName 127.0.0.1\n  Port {Port}\n  User ltb\n") + $"""

            Host *
              IdentityFile {key}
              IdentitiesOnly yes
              BatchMode yes
              StrictHostKeyChecking no
              UserKnownHostsFile /dev/null
              LogLevel INFO
              ConnectTimeout 20

            """);
        return file;
    }

    public string Folder => _folder;

    protected override ValueTask DisposeExtrasAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return ValueTask.CompletedTask;
    }
}
