using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Ltb.Topology.Catalog;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ltb.Agent.Remote;

/// <summary>How `ltb agent` runs.</summary>
public sealed record AgentOptions
{
    public required Uri Controller { get; init; }
    /// <summary>The host token an admin created (POST /api/v1/hosts/tokens).</summary>
    public required string Token { get; init; }
    public required string Name { get; init; }
    /// <summary>Where the gRPC endpoint listens.</summary>
    public required IPEndPoint Listen { get; init; }
    /// <summary>The URL the controller reaches the agent at; null: derived from <see cref="Listen"/>.</summary>
    public Uri? Advertise { get; init; }
    public required string DataDirectory { get; init; }
    public string? CertificateFile { get; init; }
    public string? KeyFile { get; init; }
    /// <summary>Plain HTTP/2 (h2c) on a non-loopback address: tests and isolated networks only.</summary>
    public bool Insecure { get; init; }
    /// <summary>A CA file the controller's HTTPS certificate chains to; null: the system's trust store.</summary>
    public string? ControllerCaFile { get; init; }
    public Dictionary<string, string> Labels { get; init; } = [];
    public string? DockerEndpoint { get; init; }
    /// <summary>The address other hosts reach this one at for VXLAN; null: the IP of the advertised address, when it is one.</summary>
    public IPAddress? TunnelAddress { get; init; }

    /// <summary>
    /// What the agent reports as its tunnel address: <see cref="TunnelAddress"/>, else the IP the controller reaches it at
    /// (<see cref="Advertise"/>, else <see cref="Listen"/>), unless that is a loopback or wildcard address, which other hosts cannot use.
    /// </summary>
    public IPAddress? EffectiveTunnelAddress(Uri address)
    {
        if (TunnelAddress is not null)
        {
            return TunnelAddress;
        }
        var ip = IPAddress.TryParse(address.Host.Trim('[', ']'), out var a) ? a : null;
        return ip is null || IPAddress.IsLoopback(ip) || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any) ? null : ip;
    }

    public bool UsesTls => CertificateFile is not null;

    /// <summary>Null when the options can work; else what to change.</summary>
    public string? Problem()
    {
        if ((CertificateFile is null) != (KeyFile is null))
        {
            return "--cert and --key go together";
        }
        if (!UsesTls && !IPAddress.IsLoopback(Listen.Address) && !Insecure)
        {
            return $"listening on {Listen} without TLS would let anyone on the network read the controller's commands: " +
                "give --cert and --key (docs/operations.md shows how to issue them), listen on a loopback address, " +
                "or pass --insecure on an isolated test network";
        }
        return null;
    }
}

/// <summary>
/// The `ltb agent` process: the host's <see cref="RuntimeAgent"/> behind the gRPC contract, registration with the
/// controller (host token in, per-agent secret out) and heartbeats. It holds no database credentials: all it knows of
/// the controller is its URL and the host token; all the controller can do here is call the contract with its secret.
/// </summary>
public sealed class AgentHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly AgentOptions _options;
    private readonly RuntimeAgent _runtime;
    private readonly ControllerCredential _credential = new();
    private readonly HttpClient _controller;
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _log;
    private Task? _heartbeats;

    private AgentHost(AgentOptions options)
    {
        _options = options;
        Directory.CreateDirectory(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var vmImages = new AgentVmImageCache(Path.Combine(options.DataDirectory, "vm-images"));
        _runtime = new RuntimeAgent(Path.Combine(options.DataDirectory, "runtime"), options.DockerEndpoint, $"agent {options.Name}", vmImages.Library.Root);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(options.Listen, l =>
            {
                if (options.UsesTls)
                {
                    l.Protocols = HttpProtocols.Http2;
                    l.UseHttps(AgentCertificates.Load(options.CertificateFile!, options.KeyFile!));
                }
                else
                {
                    l.Protocols = HttpProtocols.Http2;
                }
            });
            k.Limits.MaxRequestBodySize = AgentWire.MaxMessageBytes;
        });
        builder.Services.AddSingleton(_credential);
        builder.Services.AddSingleton<ILabHostAgent>(_runtime);
        builder.Services.AddSingleton(new AgentFilesFolder(Path.Combine(options.DataDirectory, "files")));
        builder.Services.AddSingleton(vmImages);
        builder.Services.AddGrpc(o =>
        {
            o.Interceptors.Add<ControllerOnlyInterceptor>();
            o.MaxReceiveMessageSize = AgentWire.MaxMessageBytes;
            o.MaxSendMessageSize = AgentWire.MaxMessageBytes;
        });
        _app = builder.Build();
        _app.MapGrpcService<AgentService>();
        _log = _app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ltb.agent");

        var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) };
        if (options.ControllerCaFile is { } ca)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = AgentCertificates.TrustOnly(File.ReadAllText(ca));
        }
        _controller = new HttpClient(handler) { BaseAddress = options.Controller, Timeout = TimeSpan.FromSeconds(30) };
        _controller.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.Token);
    }

    /// <summary>The URL the controller was given.</summary>
    public Uri Address { get; private set; } = null!;

    public Guid HostId { get; private set; }

    /// <summary>Starts listening, then registers (so the controller never calls an agent that is not there yet).</summary>
    public static async Task<AgentHost> StartAsync(AgentOptions options, CancellationToken ct)
    {
        if (options.Problem() is { } problem)
        {
            throw new ArgumentException(problem);
        }
        var host = new AgentHost(options);
        try
        {
            await host._app.StartAsync(ct);
            host.Address = options.Advertise ?? new Uri($"{(options.UsesTls ? "https" : "http")}://{FormatEndpoint(options.Listen)}");
            var answer = await host.RegisterAsync(ct);
            host._heartbeats = host.HeartbeatAsync(TimeSpan.FromSeconds(Math.Max(1, answer.HeartbeatSeconds)), host._stop.Token);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private static string FormatEndpoint(IPEndPoint endpoint) =>
        endpoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]:{endpoint.Port}" : endpoint.ToString();

    private async Task<AgentRegistered> RegisterAsync(CancellationToken ct)
    {
        var registration = new AgentRegistration(_options.Name, Address.ToString().TrimEnd('/'), await ProbeAsync(ct), _options.Labels,
            await _runtime.ListLabsAsync(ct), typeof(AgentHost).Assembly.GetName().Version?.ToString() ?? "0");
        using var response = await _controller.PostAsJsonAsync("api/v1/hosts/register", registration, AgentWire.Json, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException(
                $"the controller at {_options.Controller} refused the registration ({(int)response.StatusCode}): {await ProblemAsync(response, ct)}");
        }
        var answer = await response.Content.ReadFromJsonAsync<AgentRegistered>(AgentWire.Json, ct)
            ?? throw new InvalidOperationException("the controller answered the registration without a body");
        _credential.Set(answer.Secret);
        HostId = answer.HostId;
        return answer;
    }

    /// <summary>Reports facts and labs; registers again when the controller no longer knows this host (it was deleted, or restarted from scratch).</summary>
    private async Task HeartbeatAsync(TimeSpan interval, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
        {
            try
            {
                var beat = new AgentHeartbeat(await ProbeAsync(ct), await _runtime.ListLabsAsync(ct));
                using var response = await _controller.PostAsJsonAsync($"api/v1/hosts/{HostId}/heartbeat", beat, AgentWire.Json, ct);
                if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
                {
                    _log.LogWarning("the controller does not know this host any more: registering again");
                    await RegisterAsync(ct);
                }
                else if (!response.IsSuccessStatusCode)
                {
                    _log.LogWarning("heartbeat refused ({Status}): {Problem}", (int)response.StatusCode, await ProblemAsync(response, ct));
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                _log.LogWarning("heartbeat failed: {Error}", e.Message);
            }
        }
    }

    private static async Task<string> ProblemAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var body = await response.Content.ReadAsStringAsync(ct);
        return body.Length > 500 ? body[..500] : body;
    }

    /// <summary>Measures the host now: engine, images, memory, free disk, KVM.</summary>
    private async Task<AgentFacts> ProbeAsync(CancellationToken ct)
    {
        var engine = _runtime.Engine;
        var facts = await engine.DescribeAsync(ct);
        var images = await engine.Client.Images.ListImagesAsync(new global::Docker.DotNet.Models.ImagesListParameters(), ct);
        // With the images of the host's VM image library (an admin put them there): non-admins' topologies may name both.
        var tags = images.SelectMany(i => i.RepoTags ?? []).Where(t => t != "<none>:<none>")
            .Concat(Ltb.Runtime.Nodes.Vm.VmImages.ListHostLibrary())
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var kinds = _runtime.Kinds;
        return new AgentFacts((int)facts.Cpus, facts.MemoryBytes, new DriveInfo(_options.DataDirectory).AvailableFreeSpace, KvmUsable(),
            tags, kinds, facts.EngineVersion, _options.EffectiveTunnelAddress(Address)?.ToString(), facts.Isolation);
    }

    private static bool KvmUsable()
    {
        try
        {
            using var kvm = new FileStream("/dev/kvm", FileMode.Open, FileAccess.ReadWrite);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Waits until the process is asked to stop.</summary>
    public Task WaitAsync(CancellationToken ct) => _app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_heartbeats is not null)
        {
            try
            {
                await _heartbeats;
            }
            catch (OperationCanceledException)
            {
            }
        }
        await _app.StopAsync();
        await _app.DisposeAsync();
        _runtime.Dispose();
        _controller.Dispose();
        _stop.Dispose();
    }
}
