using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ltb.Server.Audit;
using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Ltb.Server.SshGateway;

/// <summary>
/// One SSH connection: its own `sshd -i` (so that its log is this connection's alone), the bytes copied between the
/// client and sshd, and the log read for the audit: the login (which LTB user's key), each forwarding allowed or
/// refused, the end with its duration. What the user then opens (console, command, sftp) is audited by the console and
/// exec endpoints the session command calls, under the same user and client address.
/// </summary>
internal sealed class SshGatewayConnection(Socket client, SshdSetup sshd, string sshdPath, IServiceScopeFactory scopes, ILogger log)
{
    private const string ObjectType = "SSH key";
    private static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(5);

    private readonly IPAddress _address = (client.RemoteEndPoint as IPEndPoint)?.Address.MapToIPv4IfMapped() ?? IPAddress.None;
    private readonly Stopwatch _duration = Stopwatch.StartNew();
    private SshKey? _key;
    private bool _attempted;

    public IPAddress Address => _address;

    public async Task RunAsync(CancellationToken stop)
    {
        var start = new ProcessStartInfo(sshdPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "-i", "-e", "-f", sshd.ConfigFile, "-o", $"SetEnv={Ltb.Contracts.SshGatewayConventions.ClientVariable}={_address}" })
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{sshdPath} did not start");
        await using var network = new NetworkStream(client, ownsSocket: true);
        var log = ReadLogAsync(process.StandardError, stop);
        // Either direction ending ends the connection: the client left (sshd sees end of input and hangs up the
        // session), or sshd ended (the client sees the socket close).
        var up = CopyAsync(network, process.StandardInput.BaseStream, stop);
        var down = CopyAsync(process.StandardOutput.BaseStream, network, stop);
        await Task.WhenAny(up, down);
        process.StandardInput.Close();
        client.Shutdown(SocketShutdown.Both);
        using (var grace = CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            grace.CancelAfter(ExitGrace);
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        await log;
        await RecordEndAsync();
    }

    private static async Task CopyAsync(Stream from, Stream to, CancellationToken stop)
    {
        try
        {
            await from.CopyToAsync(to, 16 * 1024, stop);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The other side went away.
        }
    }

    private async Task ReadLogAsync(StreamReader stderr, CancellationToken stop)
    {
        try
        {
            while (await stderr.ReadLineAsync(stop) is { } line)
            {
                switch (SshdLog.Parse(line))
                {
                    case SshdEvent.LoggedIn(var fingerprint):
                        await RecordLoginAsync(fingerprint);
                        break;
                    case SshdEvent.Attempted:
                        _attempted = true;
                        break;
                    case SshdEvent.Forwarded(var host, var port):
                        await RecordAsync("ssh.forward", $"to {host}:{port}");
                        break;
                    case SshdEvent.ForwardRefused(var host, var port):
                        await RecordAsync("ssh.forward-refused", $"to {host}:{port}: not a management address of the user's nodes");
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private async Task RecordLoginAsync(string fingerprint)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        _key = await db.SshKeys.AsNoTracking().Include(k => k.User).FirstOrDefaultAsync(k => k.Fingerprint == fingerprint);
        await RecordAsync("ssh.login", $"with key '{_key?.Name}' {fingerprint}");
    }

    private Task RecordEndAsync() => _key is not null
        ? RecordAsync("ssh.logout", $"after {_duration.Elapsed.TotalSeconds:0} s")
        : _attempted ? RecordAsync("ssh.login-refused", "no key registered to an LTB user was offered") : Task.CompletedTask;

    private async Task RecordAsync(string action, string detail)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
            scope.ServiceProvider.GetRequiredService<AuditLog>().RecordAs(_key?.UserId, _key?.User?.UserName ?? "", action, ObjectType, _key?.Id,
                $"SSH gateway: {detail}", _address.ToString());
            await db.SaveChangesAsync();
        }
        catch (ObjectDisposedException)
        {
            // The server stopped while the connection ended.
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException)
        {
            log.LogWarning("the SSH gateway could not record {Action} from {Address}: {Reason}", action, _address, e.Message);
        }
    }
}

internal static class AddressExtensions
{
    public static IPAddress MapToIPv4IfMapped(this IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
