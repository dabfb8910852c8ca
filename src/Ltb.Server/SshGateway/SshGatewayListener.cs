using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Ltb.Server.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ltb.Server.SshGateway;

/// <summary>
/// The SSH gateway's port: once the API listens, prepares sshd's files (<see cref="SshdSetup"/>), then accepts
/// connections and runs each in its own `sshd -i` (<see cref="SshGatewayConnection"/>), within the bounds of
/// <see cref="SshGatewayOptions"/>. A gateway that cannot start is logged and stays off; the API keeps serving.
/// </summary>
public sealed class SshGatewayListener(LtbServerOptions options, GatewaySecret secret, IServer server, IHostApplicationLifetime lifetime,
    IServiceScopeFactory scopes, ILogger<SshGatewayListener> log) : BackgroundService
{
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<IPAddress, int> _perAddress = new();
    private int _open;

    /// <summary>The bound port, once listening.</summary>
    public int? Port { get; private set; }

    /// <summary>The session script the authorized_keys lines name; null while the gateway is off.</summary>
    public string? SessionCommand { get; private set; }

    /// <summary>Completes when the gateway accepts connections (fails with the reason it could not start).</summary>
    public Task Ready => _ready.Task;

    public bool Enabled => options.SshGateway is not null;

    /// <summary>The host name users put in their ssh commands, when an admin set one (`SshGatewayOptions.PublicHost`).</summary>
    public string? PublicHost => options.SshGateway?.PublicHost;

    /// <summary>The Unix account users name in their ssh commands.</summary>
    public string Account => options.SshGateway?.Account ?? new SshGatewayOptions().Account;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var stop = stoppingToken;
        if (options.SshGateway is not { } gateway)
        {
            _ready.TrySetException(new InvalidOperationException("the SSH gateway is not enabled (ltb serve --ssh-port)"));
            return;
        }
        await WaitForApiAsync(stop);
        using var listener = new TcpListener(IPAddress.Parse(gateway.Address), gateway.Port);
        SshdSetup sshd;
        int port;
        try
        {
            if (listener.LocalEndpoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                listener.Server.DualMode = true;
            }
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
            sshd = new SshdSetup(gateway, gateway.HostKeyDirectory ?? Path.Combine(options.DataDirectory, "ssh-gateway"),
                gateway.RuntimeDirectoryFor(port));
            await sshd.PrepareAsync(CommandOf(gateway), ApiUrl(), secret, stop);
            Port = port;
            SessionCommand = sshd.SessionScript;
        }
        catch (Exception e) when (e is SocketException or InvalidOperationException or IOException or UnauthorizedAccessException or FormatException)
        {
            log.LogError("the SSH gateway is off: {Reason}", e.Message);
            _ready.TrySetException(e);
            return;
        }
        _ready.TrySetResult();
        using var rate = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetFixedWindowLimiter(address,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = gateway.ConnectionsPerMinutePerAddress, Window = TimeSpan.FromMinutes(1) }));
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException e)
            {
                log.LogWarning("the SSH gateway could not accept a connection: {Reason}", e.Message);
                continue;
            }
            _ = Task.Run(() => ServeAsync(client, sshd, gateway, rate, stop), CancellationToken.None);
        }
        sshd.Remove();
    }

    private async Task ServeAsync(Socket client, SshdSetup sshd, SshGatewayOptions gateway, PartitionedRateLimiter<IPAddress> rate,
        CancellationToken stop)
    {
        var connection = new SshGatewayConnection(client, sshd, gateway.Sshd, scopes, log);
        var address = connection.Address;
        var fromAddress = _perAddress.AddOrUpdate(address, 1, (_, n) => n + 1);
        var open = Interlocked.Increment(ref _open);
        try
        {
            using var permit = rate.AttemptAcquire(address);
            if (open > gateway.MaxConnections || fromAddress > gateway.MaxConnectionsPerAddress || !permit.IsAcquired)
            {
                log.LogWarning("the SSH gateway refused a connection from {Address}: {Open} open, {FromAddress} from that address, " +
                    "or more than {PerMinute} new ones in a minute", address, open, fromAddress, gateway.ConnectionsPerMinutePerAddress);
                client.Dispose();
                return;
            }
            await connection.RunAsync(stop);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException or SocketException)
        {
            log.LogWarning("an SSH gateway connection from {Address} failed: {Reason}", address, e.Message);
            client.Dispose();
        }
        finally
        {
            Interlocked.Decrement(ref _open);
            if (_perAddress.AddOrUpdate(address, 0, (_, n) => n - 1) <= 0)
            {
                _perAddress.TryRemove(new KeyValuePair<IPAddress, int>(address, 0));
            }
        }
    }

    private async Task WaitForApiAsync(CancellationToken stop)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stop.Register(() => started.TrySetCanceled(stop)))
        {
            await started.Task;
        }
    }

    /// <summary>The API as the gateway's programs on this machine reach it: a wildcard address becomes loopback.</summary>
    private string ApiUrl()
    {
        var bound = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("the API listens on no address");
        var uri = new UriBuilder(bound.Replace("://+", "://0.0.0.0").Replace("://*", "://0.0.0.0"));
        uri.Host = uri.Host switch
        {
            "0.0.0.0" => "127.0.0.1",
            "[::]" or "::" => "[::1]",
            _ => uri.Host,
        };
        return uri.Uri.ToString().TrimEnd('/');
    }

    /// <summary>The `ltb` program: as configured, else the one this server runs in (its apphost, also under `dotnet ltb.dll`).</summary>
    private static string CommandOf(SshGatewayOptions gateway) =>
        gateway.Command
        ?? (Path.Combine(AppContext.BaseDirectory, "ltb") is var beside && File.Exists(beside) ? beside : null)
        ?? throw new InvalidOperationException("the SSH gateway needs the path of the `ltb` program (SshGatewayOptions.Command)");
}
