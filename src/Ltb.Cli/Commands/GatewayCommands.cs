using System.CommandLine;
using System.Net.Http.Headers;
using Ltb.Client;
using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb gateway session`: what sshd runs for a session of the server's SSH gateway (not for users; hidden). It gets the
/// API's address and the gateway secret's file from the script `ltb serve` writes; sshd runs it as the gateway account,
/// the only account besides root that may read the secret. (The key lookup is curl: ServerSetup's SshdSetup.)
/// </summary>
internal static class GatewayCommands
{
    /// <summary>Every sftp-server location of the usual distributions; the first that exists serves the session.</summary>
    private const string SftpServer =
        "for p in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/libexec/sftp-server /usr/lib/ssh/sftp-server " +
        "/usr/lib/sftp-server; do [ -x \"$p\" ] && exec \"$p\"; done; echo 'this node has no sftp-server' >&2; exit 127";

    public static Command Create()
    {
        var server = new Option<string>("--server") { Required = true, Description = "The API's address." };
        var secretFile = new Option<string>("--secret-file") { Required = true, Description = "The file with the gateway secret." };
        var keyId = new Argument<Guid>("key-id");
        var session = new Command("session", "What sshd runs for a gateway session of the key with this id.") { server, secretFile, keyId };
        session.SetAction((parse, ct) => SessionAsync(parse.GetValue(server)!, parse.GetValue(secretFile)!, parse.GetValue(keyId), ct));
        return new Command("gateway", "The SSH gateway's programs (run by sshd; see docs/api.md, \"SSH gateway\").") { Hidden = true, Subcommands = { session } };
    }

    private static async Task<int> SessionAsync(string server, string secretFile, Guid keyId, CancellationToken ct)
    {
        var request = GatewaySessionRequest.Parse(Environment.GetEnvironmentVariable("SSH_ORIGINAL_COMMAND"),
            Environment.GetEnvironmentVariable(SshGatewayConventions.TargetVariable));
        using var http = new HttpClient { BaseAddress = new Uri(server), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(SshGatewayConventions.Scheme,
            $"{keyId:D} {await ReadSecretAsync(secretFile, ct)}");
        if (Environment.GetEnvironmentVariable(SshGatewayConventions.ClientVariable) is { Length: > 0 and < 64 } address)
        {
            http.DefaultRequestHeaders.Add(SshGatewayConventions.ClientHeader, address);
        }
        using var client = new LtbApiClient(http);
        return await LabCommands.Run(() => request switch
        {
            GatewaySessionRequest.Shell(var lab, var node) when Terminal.IsTerminal => InteractiveExec.ConsoleAsync(client, lab, node, null, ct, escape: false),
            // No terminal (`ssh HOST LAB/NODE` without -t): the login shell reads its commands from the input, as `ssh HOST sh` would.
            GatewaySessionRequest.Shell(var lab, var node) => InteractiveExec.RunAsync(client, lab, node, ["/bin/sh", "-l"], false, ct),
            GatewaySessionRequest.Command(var lab, var node, var line) =>
                InteractiveExec.RunAsync(client, lab, node, ["/bin/sh", "-c", line], Terminal.IsTerminal, ct),
            GatewaySessionRequest.Sftp(var lab, var node) => InteractiveExec.RunAsync(client, lab, node, ["/bin/sh", "-c", SftpServer], false, ct),
            GatewaySessionRequest.Help help => HelpAsync(client, help, ct),
            _ => throw new InvalidOperationException($"unknown request {request}"),
        });
    }

    private static async Task<int> HelpAsync(LtbApiClient client, GatewaySessionRequest.Help help, CancellationToken ct)
    {
        var me = await client.GetMeAsync(ct);
        var labs = await client.ListLabsAsync(ct);
        var text = Console.Error;
        if (help.Problem is { } problem)
        {
            text.WriteLine($"error: {problem}");
        }
        text.WriteLine($"LTB SSH gateway: you are {me.UserName}.");
        text.WriteLine("  ssh -t -p PORT ltb@SERVER LAB/NODE             a shell on a node");
        text.WriteLine("  ssh -p PORT ltb@SERVER LAB/NODE -- 'COMMAND'   run a command there (its output and exit code come back)");
        text.WriteLine($"  scp, sftp: -o SetEnv={SshGatewayConventions.TargetVariable}=LAB/NODE   (or `ltb lab access LAB --ssh-config`)");
        text.WriteLine("  ssh -J ltb@SERVER:PORT USER@NODE-ADDRESS        a node's own SSH server (management addresses of your nodes)");
        text.WriteLine(labs.Items.Count == 0 ? "You have no labs." : "Your labs: " + string.Join(", ", labs.Items.Select(l => $"{l.Name} ({l.State})")));
        return help.Problem is null ? 0 : 2;
    }

    private static async Task<string> ReadSecretAsync(string file, CancellationToken ct) => (await File.ReadAllTextAsync(file, ct)).Trim();
}
