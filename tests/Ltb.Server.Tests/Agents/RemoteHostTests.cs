using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Ltb.Agent;
using Ltb.Agent.Remote;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Server.Api;
using Ltb.Server.Tests.Cli;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// A controller (`ltb serve`, root namespace) and one remote lab host (<see cref="SimulatedHost"/>: its own namespace and
/// dockerd) with `ltb agent` registered by a host token. Torn down completely; the tests check what is left.
/// </summary>
public sealed class RemoteHostFixture : IAsyncLifetime
{
    public const string Password = "Agent-Admin-Passw0rd";
    private readonly string _data = Directory.CreateTempSubdirectory("ltb-agent-ctl-").FullName;
    private Process? _serve;
    private Process? _agent;
    private readonly List<string> _agentOutput = [];

    public SimulatedHost Host { get; private set; } = null!;
    public string Home { get; } = Directory.CreateTempSubdirectory("ltb-agent-home-").FullName;
    public string Url { get; private set; } = "";
    public string HostName { get; } = "sim-" + Guid.NewGuid().ToString("N")[..6];
    public string AgentUrl { get; private set; } = "";
    public HttpClient Admin { get; private set; } = null!;
    public string Namespace => Host.Namespace;

    public async ValueTask InitializeAsync()
    {
        if (!Available())
        {
            return;
        }
        Host = await SimulatedHost.StartAsync();
        await Host.LoadImageAsync("ltb/tiny:latest");

        // The controller listens where the host can reach it: its side of the veth pair.
        Url = $"http://{Host.RootAddress}:{ServeProcess.FreePort()}";
        var env = ServeProcess.HomeEnvironment(Home);
        env["LTB_ADMIN_PASSWORD"] = Password;
        _serve = Start(Path.Combine(Repo.Root, "ltb"), ["serve", "--data", _data, "--listen", Url], env);
        await WaitForLineAsync(_serve, l => l.StartsWith("Created the admin account", StringComparison.Ordinal), TimeSpan.FromMinutes(4), "ltb serve");

        Admin = new HttpClient { BaseAddress = new Uri(Url) };
        var login = await Http.ReadAsync<LoginResponse>(await Admin.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest("admin", Password)), 200);
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.Token);
        var token = await Http.ReadAsync<CreatedHostTokenDto>(await Admin.PostAsJsonAsync("/api/v1/hosts/tokens", new CreateHostTokenRequest(HostName)), 201);

        AgentUrl = $"http://{Host.Address}:7443";
        _hostToken = token.Secret;
        await StartAgentAsync();
    }

    private string _hostToken = "";

    private async Task StartAgentAsync()
    {
        var agentEnv = ServeProcess.HomeEnvironment(Home);
        agentEnv["LTB_HOST_TOKEN"] = _hostToken;
        agentEnv["DOCKER_HOST"] = Host.DockerHost;
        _agent = Host.StartInside(Path.Combine(Repo.Root, "ltb"), ["agent", "--controller", Url, "--name", HostName,
            "--listen", $"{Host.Address}:7443", "--insecure", "--data", Path.Combine(Host.Folder, "agent"), "--label", "rack=sim"], agentEnv);
        await WaitForLineAsync(_agent, l => l.StartsWith($"LTB agent '{HostName}' registered", StringComparison.Ordinal), TimeSpan.FromMinutes(2),
            "ltb agent");
    }

    /// <summary>Stops the agent (SIGTERM) and starts it again: it registers again and reports the labs it finds.</summary>
    public async Task RestartAgentAsync()
    {
        var old = _agent!;
        (await HostCommand.RunAsync("kill", "-TERM", old.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))).EnsureSuccess("kill agent");
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await old.WaitForExitAsync(wait.Token);
        }
        await StartAgentAsync();
    }

    public static bool Available() =>
        File.Exists("/var/run/docker.sock") && Environment.UserName == "root" && new[] { "ip", "nsenter", "dockerd", "docker" }.All(HostCommand.Exists);

    public static void Require()
    {
        SimulatedHost.Require();
        Prerequisite.Require(File.Exists("/var/run/docker.sock"), "a Docker engine (/var/run/docker.sock)");
    }

    public Dictionary<string, string> CliEnvironment()
    {
        var env = ServeProcess.HomeEnvironment(Home);
        env["LTB_SERVER"] = "";
        env["LTB_TOKEN"] = "";
        return env;
    }

    public Task<HostCommand.Result> LtbAsync(string? stdin, params string[] args) =>
        HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), args, TimeSpan.FromMinutes(6), CliEnvironment(), stdin: stdin);

    public string AgentOutput
    {
        get
        {
            lock (_agentOutput)
            {
                return string.Join('\n', _agentOutput);
            }
        }
    }

    private Process Start(string file, IEnumerable<string> args, Dictionary<string, string> env)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Repo.Root };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }
        return Process.Start(psi)!;
    }

    /// <summary>Reads the process's output until a line matches; the rest of its output keeps draining in the background.</summary>
    private async Task WaitForLineAsync(Process process, Func<string, bool> match, TimeSpan timeout, string what)
    {
        var lines = new List<string>();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (await process.StandardOutput.ReadLineAsync(cts.Token) is { } line)
            {
                lines.Add(line);
                if (match(line))
                {
                    _ = DrainAsync(process);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        throw new InvalidOperationException($"{what} did not start: {string.Join('\n', lines)}\n{(process.HasExited ? await stderr : "(still running)")}");
    }

    private async Task DrainAsync(Process process)
    {
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            lock (_agentOutput)
            {
                _agentOutput.Add(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Admin?.Dispose();
        IReadOnlyList<string> left = [];
        if (Host is not null)
        {
            await Host.DisposeAsync();
            left = await SimulatedHost.LeftoversAsync(Host.Namespace);
        }
        if (_serve is { HasExited: false })
        {
            _serve.Kill(entireProcessTree: true);
            await _serve.WaitForExitAsync();
        }
        _serve?.Dispose();
        _agent?.Dispose();
        foreach (var dir in new[] { _data, Home })
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        if (left.Count > 0)
        {
            throw new InvalidOperationException($"the simulated host left: {string.Join("; ", left)}");
        }
    }
}

/// <summary>
/// Issue 6, first part: a lab deployed through the controller onto a remote host's agent over gRPC; the agent accepts
/// commands only from its controller; nothing is left on the host afterwards.
/// </summary>
public sealed class RemoteHostTests(RemoteHostFixture remote) : IClassFixture<RemoteHostFixture>
{
    private RemoteHostFixture R
    {
        get
        {
            RemoteHostFixture.Require();
            return remote;
        }
    }

    [Fact]
    public async Task A_tiny_lab_on_a_remote_host_deploys_pings_execs_reads_its_files_and_destroy_leaves_nothing_there()
    {
        var r = R;
        var hosts = await Http.ReadAsync<Paged<HostDto>>(await r.Admin.GetAsync($"/api/v1/hosts?label=rack=sim"), 200);
        var host = Assert.Single(hosts.Items);
        Assert.Equal((r.HostName, "ready", false, r.AgentUrl), (host.Name, host.State, host.IsLocal, host.Address));
        Assert.True(host.Cpus > 0 && host.MemoryBytes > 0 && host.DiskBytes > 0, $"{host}");
        Assert.Contains("ltb/tiny:latest", host.Images!);
        Assert.Contains("linux", host.Kinds!);
        Assert.NotNull(host.LastSeenAt);

        var login = await r.LtbAsync(RemoteHostFixture.Password + "\n", "login", "--server", r.Url, "--user", "admin", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.Stderr);
        var folder = Directory.CreateTempSubdirectory("ltb-remote-lab-").FullName;
        var name = "rt" + Guid.NewGuid().ToString("N")[..6];
        try
        {
            // A file of the lab's own folder, bound into a node: it must travel to the remote host with the deployment.
            await File.WriteAllTextAsync(Path.Combine(folder, "motd.txt"), "hello from the controller\n");
            var topology = Path.Combine(folder, "remote.clab.yml");
            await File.WriteAllTextAsync(topology, $"""
                name: {name}
                topology:
                  nodes:
                    a:
                      kind: linux
                      image: ltb/tiny:latest
                      binds: ["motd.txt:/etc/motd.txt:ro"]
                      exec: ["ip addr add 10.0.0.1/24 dev eth1"]
                    b:
                      kind: linux
                      image: ltb/tiny:latest
                      exec: ["ip addr add 10.0.0.2/24 dev eth1"]
                  links:
                    - endpoints: ["a:eth1", "b:eth1"]
                """);
            var deploy = await r.LtbAsync(null, "lab", "deploy", "-t", topology, "--host", r.HostName);
            Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout + "\nagent:\n" + r.AgentOutput);
            Assert.EndsWith($"lab '{name}' is running", deploy.Stdout.Trim());

            var lab = await Http.ReadAsync<LabDto>(await r.Admin.GetAsync($"/api/v1/labs/{name}"), 200);
            Assert.Equal("running", lab.State);
            Assert.Equal(["a", "b"], lab.Nodes.Select(n => n.Name));
            // The containers are on the remote engine, not on this machine's.
            var remoteContainers = (await r.Host.DockerAsync("ps", "-q", "--filter", $"label=org.ltb.lab={lab.RuntimeName}")).Stdout;
            Assert.Equal(2, remoteContainers.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
            var local = await HostCommand.RunAsync("docker", ["ps", "-aq", "--filter", $"label=org.ltb.lab={lab.RuntimeName}"], null,
                new Dictionary<string, string> { ["DOCKER_API_VERSION"] = "1.41" });
            Assert.Equal("", local.EnsureSuccess("docker ps").Stdout.Trim());

            var ping = await r.LtbAsync(null, "lab", "exec", name, "a", "--", "ping", "-c", "2", "-W", "2", "10.0.0.2");
            Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);
            var motd = await r.LtbAsync(null, "lab", "exec", name, "a", "--", "cat", "/etc/motd.txt");
            Assert.Equal((0, "hello from the controller"), (motd.ExitCode, motd.Stdout.Trim()));
            var exit = await r.LtbAsync(null, "lab", "exec", name, "b", "--", "sh", "-c", "exit 3");
            Assert.Equal(3, exit.ExitCode);

            var destroy = await r.LtbAsync(null, "lab", "destroy", name);
            Assert.True(destroy.ExitCode == 0, destroy.Stderr + destroy.Stdout);
            Assert.Equal("", (await r.Host.DockerAsync("ps", "-aq")).Stdout.Trim());
            var networks = (await r.Host.DockerAsync("network", "ls", "--format", "{{.Name}}")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(["host", "none"], networks.Order());
            Assert.Equal(["lo", $"lsh-{r.Host.Id}"], (await r.Host.InterfacesAsync()).Order());
            Assert.False(Directory.Exists(Path.Combine(r.Host.Folder, "agent", "files", lab.RuntimeName)), "the lab's files stayed on the host");
            Assert.False(Directory.Exists(Path.Combine(r.Host.Folder, "agent", "runtime", lab.RuntimeName)), "the lab's state stayed on the host");
            Assert.Empty(Directory.Exists("/run/netns") ? Directory.GetFiles("/run/netns", $"ltb-{lab.RuntimeName}-*") : []);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_restarted_agent_reports_its_labs_and_the_controller_keeps_operating_them()
    {
        var r = R;
        var name = "rr" + Guid.NewGuid().ToString("N")[..6];
        using (var content = Labs.LabTestSupport.Upload(Labs.LabTestSupport.TinyLab(name)))
        {
            content.Add(new StringContent(r.HostName), "host");
            var accepted = await Http.ReadAsync<LabTaskAccepted>(await r.Admin.PostAsync("/api/v1/labs", content), 202);
            var task = await Labs.LabTestSupport.WaitAsync(r.Admin, accepted.Task.Id);
            Assert.True(task.State == "succeeded", task.Error);
        }
        await r.RestartAgentAsync();
        // The agent found its lab again (engine labels, state folder): the reconciler left it running, and the controller
        // reaches the new agent with the new secret.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var lab = await Http.ReadAsync<LabDto>(await r.Admin.GetAsync($"/api/v1/labs/{name}"), 200);
        Assert.Equal("running", lab.State);
        Assert.All(lab.Nodes, n => Assert.Equal("running", n.State));
        var ping = await Http.ReadAsync<ExecResponse>(await r.Admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec",
            new ExecRequest("a", ["ping", "-c", "1", "-W", "2", "10.0.0.2"])), 200);
        Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);
        var removal = await Http.ReadAsync<LabTaskAccepted>(await r.Admin.DeleteAsync($"/api/v1/labs/{name}"), 202);
        Assert.Equal("succeeded", (await Labs.LabTestSupport.WaitAsync(r.Admin, removal.Task.Id)).State);
        Assert.Equal("", (await r.Host.DockerAsync("ps", "-aq", "--filter", $"label=org.ltb.lab={lab.RuntimeName}")).Stdout.Trim());
    }

    [Fact]
    public async Task A_runtime_failure_on_the_remote_host_reaches_the_user_with_lab_node_and_cause()
    {
        var r = R;
        var name = "rf" + Guid.NewGuid().ToString("N")[..6];
        using var content = Labs.LabTestSupport.Upload(Labs.LabTestSupport.TinyLab(name, "ltb/no-such-image:1"));
        content.Add(new StringContent(r.HostName), "host");
        var accepted = await Http.ReadAsync<LabTaskAccepted>(await r.Admin.PostAsync("/api/v1/labs", content), 202);
        var task = await Labs.LabTestSupport.WaitAsync(r.Admin, accepted.Task.Id);
        Assert.Equal("failed", task.State);
        Assert.StartsWith($"lab '{name}', node 'a': ", task.Error);
        Assert.Contains("ltb/no-such-image:1", task.Error);
        var removal = await Http.ReadAsync<LabTaskAccepted>(await r.Admin.DeleteAsync($"/api/v1/labs/{name}"), 202);
        Assert.Equal("succeeded", (await Labs.LabTestSupport.WaitAsync(r.Admin, removal.Task.Id)).State);
        Assert.Equal("", (await r.Host.DockerAsync("ps", "-aq", "--filter", $"label=org.ltb.lab={accepted.Lab.RuntimeName}")).Stdout.Trim());
    }

    [Fact]
    public async Task The_agent_refuses_anyone_but_its_controller()
    {
        var r = R;
        var plan = new LabPlan { LabName = "intruder", Nodes = [new NodePlan { Name = "x", Image = "ltb/tiny:latest" }] };
        foreach (var secret in new[] { "", "not-the-secret", "Bearer" })
        {
            using var stranger = new GrpcLabHostAgent(r.HostName, r.AgentUrl, secret);
            var health = await stranger.CheckAsync(TestContext.Current.CancellationToken);
            Assert.False(health.Reachable);
            Assert.Contains(ControllerOnlyInterceptor.Refusal, health.Message);
            var refused = await Assert.ThrowsAsync<LabRuntimeException>(() =>
                stranger.DeployAsync(plan, new AgentDeployOptions(), null, TestContext.Current.CancellationToken));
            Assert.Contains($"host '{r.HostName}' refused the controller", refused.Message);
            await Assert.ThrowsAsync<LabRuntimeException>(() => stranger.ListLabsAsync(TestContext.Current.CancellationToken));
        }
        Assert.Equal("", (await r.Host.DockerAsync("ps", "-aq", "--filter", "label=org.ltb.lab=intruder")).Stdout.Trim());
        // The controller itself still gets through.
        var ready = await Http.ReadAsync<System.Text.Json.JsonElement>(await r.Admin.GetAsync("/readyz"), 200);
        Assert.DoesNotContain(r.HostName, ready.GetRawText());
    }
}

/// <summary>After every remote-host test: the simulated host is gone without a trace.</summary>
public sealed class SimulatedHostTests
{
    [Fact]
    public async Task A_simulated_host_runs_an_engine_in_its_namespace_and_leaves_nothing_when_disposed()
    {
        SimulatedHost.Require();
        Prerequisite.Require(File.Exists("/var/run/docker.sock"), "a Docker engine (/var/run/docker.sock)");
        string ns;
        await using (var host = await SimulatedHost.StartAsync())
        {
            ns = host.Namespace;
            await host.LoadImageAsync("ltb/tiny:latest");
            var run = await host.DockerAsync("run", "-d", "--network", "none", "ltb/tiny:latest");
            Assert.True(run.ExitCode == 0, run.Stderr);
            Assert.NotEmpty(await SimulatedHost.LeftoversAsync(ns));
        }
        Assert.Empty(await SimulatedHost.LeftoversAsync(ns));
    }
}
