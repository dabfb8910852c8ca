using System.Net.Http.Json;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// A <see cref="LabCluster"/> of two hosts for placement: the controller's own host disabled (labs go to the two
/// simulated hosts only), and on each host an admin's capacity override of 3 CPUs and 3 GiB, so that one host holds at
/// most six tiny labs (two nodes of 256 MiB each) and ten must spread.
/// </summary>
public sealed class TwoHostPlacementFixture : IAsyncLifetime
{
    public const long GiB = 1L << 30;
    private LabCluster? _cluster;

    public LabCluster Cluster => _cluster ?? throw new InvalidOperationException("the cluster did not start");

    public async ValueTask InitializeAsync()
    {
        if (!LabCluster.Available())
        {
            return;
        }
        _cluster = await LabCluster.StartAsync(new LabClusterOptions { Hosts = 2 });
        var hosts = await Http.ReadAsync<Paged<HostDto>>(await _cluster.Admin.GetAsync("/api/v1/hosts"), 200);
        foreach (var host in hosts.Items)
        {
            await _cluster.UpdateHostAsync(host.Name, host.IsLocal ? new UpdateHostRequest(State: "disabled") : new UpdateHostRequest(Cpus: 8, MemoryBytes: 3 * GiB));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

/// <summary>Issue 6: ten labs deployed at once across two hosts all reach running; placement respects capacity.</summary>
public sealed class ClusterPlacementTests(TwoHostPlacementFixture fixture) : IClassFixture<TwoHostPlacementFixture>
{
    private LabCluster C
    {
        get
        {
            LabCluster.Require();
            return fixture.Cluster;
        }
    }

    [Fact]
    public async Task Ten_labs_deployed_at_once_across_the_two_hosts_all_reach_running_and_destroy_leaves_nothing()
    {
        var c = C;
        var ct = TestContext.Current.CancellationToken;
        var interfacesBefore = await Task.WhenAll(c.Hosts.Select(h => h.Sim.InterfacesAsync()));
        var names = Enumerable.Range(0, 10).Select(i => $"ten{i}{Guid.NewGuid().ToString("N")[..5]}").ToList();
        var accepted = await Task.WhenAll(names.Select(name => LabTestSupport.DeployAsync(c.Admin, LabTestSupport.TinyLab(name))));
        var tasks = await Task.WhenAll(accepted.Select(a => LabTestSupport.WaitAsync(c.Admin, a.Task.Id)));
        Assert.All(tasks, t => Assert.True(t.State == "succeeded", $"{t.State}: {t.Error}\n{string.Join('\n', t.Log)}"));

        var labs = await Task.WhenAll(names.Select(async n => await Http.ReadAsync<LabDto>(await c.Admin.GetAsync($"/api/v1/labs/{n}", ct), 200)));
        var hostNames = c.Hosts.Select(h => h.Name).ToHashSet();
        Assert.All(labs, l =>
        {
            Assert.Equal("running", l.State);
            Assert.Contains(l.Host!, hostNames);
            Assert.Equal("ready", l.HostState);
            // "sim-x: 7 of 8 CPUs and 2.75 GiB of 3 GiB free after placement; local: not ready (disabled); ..."
            Assert.Matches($@"^{l.Host}: [0-9.]+ of 8 CPUs and [0-9.]+ (GiB|MiB) of 3 GiB free after placement; local: .*not ready \(disabled\)", l.PlacementReason!);
        });
        // Placement spreads them (most memory free after placement) and never beyond a host's capacity.
        var perHost = labs.GroupBy(l => l.Host!).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(hostNames.Order(), perHost.Keys.Order());
        Assert.All(perHost.Values, group => Assert.InRange(group.Count, 4, 6));
        var hosts = await Http.ReadAsync<Paged<HostDto>>(await c.Admin.GetAsync("/api/v1/hosts?label=rack=sim", ct), 200);
        Assert.All(hosts.Items, h =>
        {
            Assert.Equal(new HostResourcesDto(8, 3 * TwoHostPlacementFixture.GiB), h.Capacity);
            Assert.Equal(perHost[h.Name].Count, h.Labs);
            // Two linux nodes per lab, each counted at the limits it runs with (the linux type's 0.5 CPU and 128 MiB).
            Assert.Equal(new HostResourcesDto(perHost[h.Name].Count * 1.0, perHost[h.Name].Count * (256L << 20)), h.Allocated);
        });

        // On each host, one lab's link carries traffic; its containers are on that host's engine.
        foreach (var (hostName, group) in perHost)
        {
            var lab = group[0];
            var exec = await Http.ReadAsync<ExecResponse>(await c.Admin.PostAsJsonAsync($"/api/v1/labs/{lab.Name}/exec",
                new ExecRequest("a", ["ping", "-c", "2", "-W", "2", "10.0.0.2"]), ct), 200);
            Assert.True(exec.ExitCode == 0, $"{lab.Name} on {hostName}: {exec.Stdout}{exec.Stderr}");
            var sim = c.Hosts.Single(h => h.Name == hostName).Sim;
            var containers = (await sim.DockerAsync("ps", "-q", "--filter", $"label=org.ltb.lab={lab.RuntimeName}")).Stdout;
            Assert.Equal(2, containers.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }

        var removals = await Task.WhenAll(names.Select(async n =>
            await Http.ReadAsync<LabTaskAccepted>(await c.Admin.DeleteAsync($"/api/v1/labs/{n}", ct), 202)));
        var removed = await Task.WhenAll(removals.Select(r => LabTestSupport.WaitAsync(c.Admin, r.Task.Id)));
        Assert.All(removed, t => Assert.True(t.State == "succeeded", $"{t.State}: {t.Error}"));
        for (var i = 0; i < c.Hosts.Count; i++)
        {
            var sim = c.Hosts[i].Sim;
            Assert.Equal("", (await sim.DockerAsync("ps", "-aq")).Stdout.Trim());
            var networks = (await sim.DockerAsync("network", "ls", "--format", "{{.Name}}")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(["host", "none"], networks.Order());
            Assert.Equal(interfacesBefore[i].Order(), (await sim.InterfacesAsync()).Order());
        }
        Assert.All(labs, l => Assert.Empty(Directory.Exists("/run/netns") ? Directory.GetFiles("/run/netns", $"ltb-{l.RuntimeName}-*") : []));
        hosts = await Http.ReadAsync<Paged<HostDto>>(await c.Admin.GetAsync("/api/v1/hosts?label=rack=sim", ct), 200);
        Assert.All(hosts.Items, h => Assert.Equal((0, new HostResourcesDto(0, 0)), (h.Labs, h.Allocated)));
    }

    [Fact]
    public async Task A_lab_that_fits_nowhere_is_refused_with_the_reason()
    {
        var c = C;
        // A node of 64 CPUs: no host counts that many (3 reported, times its overcommit), and a node cannot be split across hosts.
        var yaml = LabTestSupport.TinyLab("nowhere" + Guid.NewGuid().ToString("N")[..5])
            .Replace("      kind: linux\n      image: ltb/tiny:latest\n      exec: [\"ip addr add 10.0.0.1", "      kind: linux\n      cpu: 64\n      image: ltb/tiny:latest\n      exec: [\"ip addr add 10.0.0.1", StringComparison.Ordinal);
        using var content = LabTestSupport.Upload(yaml);
        var problem = await Http.ProblemAsync(await c.Admin.PostAsync("/api/v1/labs", content, TestContext.Current.CancellationToken), 409);
        var detail = problem.GetProperty("detail").GetString()!;
        // (With tunnel addresses the hosts could span the lab, and the detail adds what they have together: still too little.)
        Assert.StartsWith("no host can take the lab (it needs 64.5 CPUs and 256 MiB", detail);
        var reasons = problem.GetProperty("hosts").EnumerateArray().ToDictionary(h => h.GetProperty("host").GetString()!,
            h => string.Join(", ", h.GetProperty("reasons").EnumerateArray().Select(r => r.GetString())));
        Assert.StartsWith("not ready (disabled)", reasons["local"]);
        foreach (var host in c.Hosts)
        {
            Assert.Matches(@"^no capacity: needs 64.5 CPUs and 256 MiB, has [0-9.]+ CPUs and [0-9.]+ (GiB|MiB) free of [0-9.]+ CPUs and [0-9.]+ GiB$", reasons[host.Name]);
            Assert.Contains($"{host.Name}: no capacity", detail);
        }
        // Pinned to a host, the same reason for that host alone.
        using var pinned = LabTestSupport.Upload(yaml);
        pinned.Add(new StringContent(c.Hosts[0].Name), "host");
        problem = await Http.ProblemAsync(await c.Admin.PostAsync("/api/v1/labs", pinned, TestContext.Current.CancellationToken), 409);
        Assert.StartsWith($"host '{c.Hosts[0].Name}' cannot take the lab (it needs 64.5 CPUs and 256 MiB): no capacity", problem.GetProperty("detail").GetString());
    }
}
