using System.Net.Http.Json;
using Ltb.Agent;
using Ltb.Agent.Remote;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Agents;

/// <summary>A <see cref="LabCluster"/> of one remote host, shared by the tests of this class.</summary>
public sealed class RemoteHostFixture : IAsyncLifetime
{
    public const string Password = LabCluster.Password;
    private LabCluster? _cluster;

    private LabCluster Cluster => _cluster ?? throw new InvalidOperationException("the cluster did not start");
    private ClusterHost Remote => Cluster.Hosts[0];
    public SimulatedHost Host => Remote.Sim;
    public string Url => Cluster.Url;
    public string HostName => Remote.Name;
    public string AgentUrl => Remote.AgentUrl;
    public HttpClient Admin => Cluster.Admin;
    public string Namespace => Host.Namespace;
    public string AgentOutput => Remote.Agent?.Output ?? "";
    /// <summary>The controller's data folder, the agent's and the controller's process ids (their memory is read from /proc).</summary>
    public string ControllerData => Cluster.Data;
    public int AgentPid => Remote.Agent?.Process.Id ?? throw new InvalidOperationException("the agent is not running");
    public int ControllerPid => Cluster.Controller.Process.Id;

    public async ValueTask InitializeAsync()
    {
        if (LabCluster.Available())
        {
            _cluster = await LabCluster.StartAsync();
        }
    }

    /// <summary>Stops the agent (SIGTERM) and starts it again: it registers again and reports the labs it finds.</summary>
    public Task RestartAgentAsync() => Remote.RestartAgentAsync();

    public static void Require() => LabCluster.Require();

    public Task<HostCommand.Result> LtbAsync(string? stdin, params string[] args) => Cluster.LtbAsync(stdin, args);

    /// <summary>`ltb login` as the admin, so that later <see cref="LtbAsync"/> calls are signed in.</summary>
    public Task LoginCliAsync() => Cluster.LoginCliAsync();

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
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
            // A node's output streams from the remote host: read with the CLI, and followed through the API.
            await Labs.LabTestSupport.SayAsync(r.Admin, name, "a", "remote-line");
            var logs = await r.LtbAsync(null, "lab", "logs", name, "a", "--tail", "3");
            Assert.True(logs.ExitCode == 0 && logs.Stdout.Contains("remote-line\n", StringComparison.Ordinal), logs.Stdout + logs.Stderr);
            await Labs.LabTestSupport.FollowAsync(r.Admin, name, "a", "remote-followed");

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
        await using var deployed = await Labs.ServerLab.RunAsync(r.Admin, OnHost(Labs.LabTestSupport.TinyLab(name)), r.Host.DockerHost);
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
        await deployed.DestroyAsync();
        Assert.Equal("", (await r.Host.DockerAsync("ps", "-aq", "--filter", $"label=org.ltb.lab={lab.RuntimeName}")).Stdout.Trim());
        await deployed.AssertNoLeftoversAsync();
    }

    [Fact]
    public async Task A_runtime_failure_on_the_remote_host_reaches_the_user_with_lab_node_and_cause()
    {
        var r = R;
        var name = "rf" + Guid.NewGuid().ToString("N")[..6];
        await using var failed = await Labs.ServerLab.StartAsync(r.Admin, OnHost(Labs.LabTestSupport.TinyLab(name, "ltb/no-such-image:1")), r.Host.DockerHost);
        var task = await failed.WaitAsync();
        Assert.Equal("failed", task.State);
        Assert.StartsWith($"lab '{name}', node 'a': ", task.Error);
        Assert.Contains("ltb/no-such-image:1", task.Error);
        await failed.DestroyAsync();
        Assert.Equal("", (await r.Host.DockerAsync("ps", "-aq", "--filter", $"label=org.ltb.lab={failed.RuntimeName}")).Stdout.Trim());
        await failed.AssertNoLeftoversAsync();
    }

    /// <summary>An upload of <paramref name="yaml"/> placed on the remote host.</summary>
    private MultipartFormDataContent OnHost(string yaml)
    {
        var content = Labs.LabTestSupport.Upload(yaml);
        content.Add(new StringContent(R.HostName), "host");
        return content;
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
