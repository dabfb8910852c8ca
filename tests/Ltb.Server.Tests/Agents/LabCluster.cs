using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Ltb.Server.Api;
using Ltb.Server.Tests.Cli;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Agents;

/// <summary>How a <see cref="LabCluster"/> is set up.</summary>
public sealed record LabClusterOptions
{
    /// <summary>The number of simulated lab hosts, each with its own engine and `ltb agent`.</summary>
    public int Hosts { get; init; } = 1;
    /// <summary>Images copied from this machine's engine into every host's engine (there is no registry).</summary>
    public IReadOnlyList<string> Images { get; init; } = ["ltb/tiny:latest"];
    /// <summary>Run the controller on a PostgreSQL database of its own (else SQLite in its data folder).</summary>
    public bool Postgres { get; init; }
    /// <summary>More arguments of `ltb serve`.</summary>
    public IReadOnlyList<string> ServeArgs { get; init; } = [];
    /// <summary>More arguments of each host's `ltb agent`.</summary>
    public Func<ClusterHost, IEnumerable<string>>? AgentArgs { get; init; }
    /// <summary>Agents serve TLS (`--cert`/`--key` issued by <see cref="LabCluster.AgentCa"/>) instead of `--insecure` HTTP/2.</summary>
    public bool AgentTls { get; init; }
    /// <summary>With <see cref="AgentTls"/>: the controller trusts the agents' CA (LTB_AGENT_CA); false: it is given another CA.</summary>
    public bool ControllerTrustsAgentCa { get; init; } = true;
}

/// <summary>
/// A controller (`ltb serve` in the root namespace) and N remote lab hosts (<see cref="SimulatedHost"/>: a namespace with
/// its own dockerd) each running `ltb agent` registered with a host token. With two or more hosts, the hosts also share a
/// <see cref="SimulatedFabric"/> (their underlay for VXLAN: <see cref="ClusterHost.FabricAddress"/>). The controller and
/// each agent can be killed (SIGKILL) and started again. Disposing removes everything and throws if a host left anything.
/// </summary>
public sealed class LabCluster : IAsyncDisposable
{
    public const string Password = "Cluster-Admin-Passw0rd";
    private readonly LabClusterOptions _options;
    private readonly List<ClusterHost> _hosts = [];
    private SimulatedFabric? _fabric;
    private TestDatabase? _database;

    private LabCluster(LabClusterOptions options) => _options = options;

    public IReadOnlyList<ClusterHost> Hosts => _hosts;
    /// <summary>The controller's data folder (SQLite database, uploaded lab files).</summary>
    public string Data { get; } = Directory.CreateTempSubdirectory("ltb-cluster-data-").FullName;
    public string Home { get; } = Directory.CreateTempSubdirectory("ltb-cluster-home-").FullName;
    public int Port { get; } = ServeProcess.FreePort();
    /// <summary>The controller as users reach it.</summary>
    public string Url => $"http://127.0.0.1:{Port}";
    public LtbProcess Controller { get; private set; } = null!;
    /// <summary>An API client signed in as the admin.</summary>
    public HttpClient Admin { get; private set; } = null!;
    /// <summary>The PostgreSQL connection string, when the controller runs on PostgreSQL.</summary>
    public string? ConnectionString => _database?.ConnectionString;
    /// <summary>The CA that issued the agents' certificates (with <see cref="LabClusterOptions.AgentTls"/>).</summary>
    public TestCertificateAuthority? AgentCa { get; private set; }
    /// <summary>The CA the controller trusts instead, when <see cref="LabClusterOptions.ControllerTrustsAgentCa"/> is false.</summary>
    private TestCertificateAuthority? _otherCa;

    public static bool Available() =>
        File.Exists("/var/run/docker.sock") && Environment.UserName == "root" && new[] { "ip", "nsenter", "dockerd", "docker" }.All(HostCommand.Exists);

    public static void Require()
    {
        SimulatedHost.Require();
        Prerequisite.Require(File.Exists("/var/run/docker.sock"), "a Docker engine (/var/run/docker.sock)");
    }

    public static async Task<LabCluster> StartAsync(LabClusterOptions? options = null)
    {
        var cluster = new LabCluster(options ?? new LabClusterOptions());
        try
        {
            await cluster.InitializeAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task InitializeAsync()
    {
        if (_options.Postgres)
        {
            var (database, unavailable) = await PostgresTestDatabase.CreateAsync();
            Prerequisite.Require(database is not null, unavailable ?? "PostgreSQL");
            _database = database;
        }
        if (_options.AgentTls)
        {
            AgentCa = await TestCertificateAuthority.CreateAsync("LTB test agents CA");
            _otherCa = _options.ControllerTrustsAgentCa ? null : await TestCertificateAuthority.CreateAsync("LTB unrelated CA");
        }
        // Hosts start in parallel: each is an engine start and image copies.
        var sims = await Task.WhenAll(Enumerable.Range(0, _options.Hosts).Select(async _ =>
        {
            var sim = await SimulatedHost.StartAsync();
            foreach (var image in _options.Images)
            {
                await sim.LoadImageAsync(image);
            }
            return sim;
        }));
        if (sims.Length > 1)
        {
            _fabric = await SimulatedFabric.StartAsync();
        }
        foreach (var sim in sims)
        {
            var fabric = _fabric is null ? null : await _fabric.JoinAsync(sim);
            _hosts.Add(new ClusterHost(this, sim, "sim-" + sim.Id, fabric));
        }

        await StartControllerAsync(first: true);
        Admin = new HttpClient { BaseAddress = new Uri(Url) };
        var login = await Http.ReadAsync<LoginResponse>(await Admin.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest("admin", Password)), 200);
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.Token);
        foreach (var host in _hosts)
        {
            host.Token = (await Http.ReadAsync<CreatedHostTokenDto>(await Admin.PostAsJsonAsync("/api/v1/hosts/tokens", new CreateHostTokenRequest(host.Name)), 201)).Secret;
        }
        await Task.WhenAll(_hosts.Select(h => h.StartAgentAsync()));
    }

    /// <summary>
    /// Starts the controller (again, after <see cref="KillControllerAsync"/>) on the same data folder and database, and
    /// waits until it serves. It listens on every address so that each host reaches it on its own veth pair.
    /// </summary>
    public async Task StartControllerAsync() => await StartControllerAsync(first: false);

    private async Task StartControllerAsync(bool first)
    {
        var env = ServeProcess.HomeEnvironment(Home);
        env["LTB_ADMIN_PASSWORD"] = Password;
        List<string> args = ["serve", "--data", Data, "--listen", $"http://0.0.0.0:{Port}"];
        if (_database is not null)
        {
            args.AddRange(["--database", "postgres", "--connection-string", _database.ConnectionString]);
        }
        args.AddRange(_options.ServeArgs);
        if ((_otherCa ?? AgentCa) is { } trusted)
        {
            env["LTB_AGENT_CA"] = trusted.CertificateFile;
        }
        Controller = LtbProcess.Start(args, env, "ltb serve");
        await Controller.WaitForLineAsync(l => first ? l.StartsWith("Created the admin account", StringComparison.Ordinal)
            : l.StartsWith("LTB is listening on", StringComparison.Ordinal), TimeSpan.FromMinutes(4));
    }

    internal IEnumerable<string> AgentArgsFor(ClusterHost host) => _options.AgentArgs?.Invoke(host) ?? [];

    /// <summary>SIGKILL of the controller: whatever it was doing is cut off; agents keep running.</summary>
    public Task KillControllerAsync() => Controller.KillAsync();

    /// <summary>An admin's change of a host (state, capacity override), by the host's name ("local" for the controller's own).</summary>
    public async Task UpdateHostAsync(string name, UpdateHostRequest change)
    {
        var hosts = await Http.ReadAsync<Paged<HostDto>>(await Admin.GetAsync("/api/v1/hosts"), 200);
        var id = hosts.Items.Single(h => h.Name == name).Id;
        var current = await Admin.GetAsync($"/api/v1/hosts/{id}");
        await Http.EnsureAsync(current, 200, "host");
        using var patch = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/hosts/{id}") { Content = JsonContent.Create(change) };
        patch.Headers.IfMatch.Add(current.Headers.ETag!);
        await Http.EnsureAsync(await Admin.SendAsync(patch), 200, "patch host");
    }

    /// <summary>The environment of a `ltb` CLI run as a user of this cluster (its own HOME, no server from the environment).</summary>
    public Dictionary<string, string> CliEnvironment()
    {
        var env = ServeProcess.HomeEnvironment(Home);
        env["LTB_SERVER"] = "";
        env["LTB_TOKEN"] = "";
        return env;
    }

    public Task<HostCommand.Result> LtbAsync(string? stdin, params string[] args) =>
        HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), args, TimeSpan.FromMinutes(6), CliEnvironment(), stdin: stdin);

    /// <summary>`ltb login` as the admin, so that later <see cref="LtbAsync"/> calls are signed in.</summary>
    public async Task LoginCliAsync()
    {
        var login = await LtbAsync(Password + "\n", "login", "--server", Url, "--user", "admin", "--password-stdin");
        login.EnsureSuccess("ltb login");
    }

    public async ValueTask DisposeAsync()
    {
        Admin?.Dispose();
        var left = new List<string>();
        foreach (var host in _hosts)
        {
            await host.Sim.DisposeAsync();
            left.AddRange(await SimulatedHost.LeftoversAsync(host.Sim.Namespace));
        }
        if (_fabric is not null)
        {
            await _fabric.DisposeAsync();
        }
        if (Controller is not null)
        {
            await Controller.DisposeAsync();
        }
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
        AgentCa?.Dispose();
        _otherCa?.Dispose();
        foreach (var dir in new[] { Data, Home })
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        if (left.Count > 0)
        {
            throw new InvalidOperationException($"the simulated hosts left: {string.Join("; ", left)}");
        }
    }
}

/// <summary>One simulated lab host of a <see cref="LabCluster"/> and its `ltb agent`.</summary>
public sealed class ClusterHost(LabCluster cluster, SimulatedHost sim, string name, IPAddress? fabricAddress)
{
    public const int AgentPort = 7443;

    public SimulatedHost Sim { get; } = sim;
    /// <summary>The host's name at the controller.</summary>
    public string Name { get; } = name;
    /// <summary>The host's address on the fabric shared with the other hosts (null with a single host).</summary>
    public IPAddress? FabricAddress { get; } = fabricAddress;
    /// <summary>Where the controller reaches the agent.</summary>
    public string AgentUrl => $"{(cluster.AgentCa is null ? "http" : "https")}://{Sim.Address}:{AgentPort}";
    public LtbProcess? Agent { get; private set; }
    internal string Token { get; set; } = "";
    private (string Certificate, string Key)? _certificate;

    /// <summary>Starts the agent (again) and waits until it has registered.</summary>
    public async Task StartAgentAsync()
    {
        var env = ServeProcess.HomeEnvironment(cluster.Home);
        env["LTB_HOST_TOKEN"] = Token;
        env["DOCKER_HOST"] = Sim.DockerHost;
        List<string> args = ["agent", "--controller", $"http://{Sim.RootAddress}:{cluster.Port}", "--name", Name,
            "--listen", $"{Sim.Address}:{AgentPort}", "--data", Path.Combine(Sim.Folder, "agent"), "--label", "rack=sim"];
        if (cluster.AgentCa is { } ca)
        {
            _certificate ??= await ca.IssueAsync(Name, Sim.Address);
            args.AddRange(["--cert", _certificate.Value.Certificate, "--key", _certificate.Value.Key]);
        }
        else
        {
            args.Add("--insecure");
        }
        args.AddRange(cluster.AgentArgsFor(this));
        for (var attempt = 1; ; attempt++)
        {
            Agent = LtbProcess.StartInside(Sim, args, env, $"ltb agent {Name}");
            var started = DateTime.UtcNow;
            try
            {
                await Agent.WaitForLineAsync(l => l.StartsWith($"LTB agent '{Name}' registered", StringComparison.Ordinal), TimeSpan.FromMinutes(2));
                return;
            }
            catch (InvalidOperationException e) when (attempt < 3 && Agent.HasExited)
            {
                // Seen in CI: the agent exited (1) with nothing printed, twice in a row, which is how a SIGTERM before
                // it is ready used to end it (it now says which signal). Another start, each failure kept in the log,
                // so that the harness does not fail a test that is about something else.
                Console.Error.WriteLine($"ltb agent {Name}: start {attempt} ended after {(DateTime.UtcNow - started).TotalSeconds:0.0} s; " +
                    $"starting again: {e.Message}");
                await Task.Delay(TimeSpan.FromSeconds(attempt));
            }
        }
    }

    /// <summary>SIGKILL of the agent: cut off in the middle of whatever it does; its containers keep running.</summary>
    public Task KillAgentAsync() => Agent?.KillAsync() ?? Task.CompletedTask;

    /// <summary>SIGTERM of the agent and a new start: it registers again and reports the labs it finds.</summary>
    public async Task RestartAgentAsync()
    {
        if (Agent is not null)
        {
            await Agent.StopAsync();
        }
        await StartAgentAsync();
    }
}
