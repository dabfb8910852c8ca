using System.Net.Http.Headers;
using System.Net.Http.Json;
using Ltb.Agent;
using Ltb.Server.Api;
using Ltb.Server.Data;
using Ltb.Server.Labs.Spanning;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// Node pins (label ltb.host) through the deploy endpoint, without agents (fast, both databases): what cannot be placed is
/// refused with the node's position and the reason; a lab pinned over two hosts is accepted and spans them.
/// </summary>
public abstract class NodePinsTests<TServer>(TServer fixture) : IClassFixture<TServer>
    where TServer : ServerFixture
{
    private TServer S
    {
        get
        {
            fixture.Require();
            return fixture;
        }
    }

    private static string Pinned(string name, string? a, string? b) => $"""
        name: {name}
        topology:
          nodes:
            a:
              kind: linux
              image: ltb/tiny:latest
        {(a is null ? "" : $"      labels: {{ltb.host: {a}}}\n")}    b:
              kind: linux
              image: ltb/tiny:latest
        {(b is null ? "" : $"      labels: {{ltb.host: {b}}}\n")}  links:
            - endpoints: ["a:eth1", "b:eth1"]
        """;

    /// <summary>A host registered as an agent would (the agent address answers nothing), with or without a tunnel address.</summary>
    private async Task<string> RegisterAsync(string? tunnel)
    {
        var name = ServerFixture.Unique("pin");
        var token = await Http.ReadAsync<CreatedHostTokenDto>(await S.Admin.PostAsJsonAsync("/api/v1/hosts/tokens", new CreateHostTokenRequest(name)), 201);
        using var agent = new HttpClient { BaseAddress = S.BaseAddress };
        agent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Secret);
        var facts = new AgentFacts(2, 4L << 30, 10L << 30, false, ["ltb/tiny:latest"], ["linux"], "test", tunnel);
        await Http.ReadAsync<AgentRegistered>(await agent.PostAsJsonAsync("/api/v1/hosts/register",
            new AgentRegistration(name, "http://127.0.0.1:9", facts, null, [], Ltb.Server.Hosting.AgentVersions.Controller.ToString(3))), 200);
        return name;
    }

    private async Task<string> RefusedAsync(string yaml, int status)
    {
        using var content = LabTestSupport.Upload(yaml);
        return (await Http.ProblemAsync(await S.Admin.PostAsync("/api/v1/labs", content), status)).GetRawText();
    }

    [Fact]
    public async Task Pins_to_hosts_that_cannot_take_the_node_are_refused_with_the_node_and_the_reason()
    {
        var s = S;
        var unknown = await RefusedAsync(Pinned(ServerFixture.Unique("p"), "no-such-host", null), 400);
        Assert.Contains("\"lab.clab.yml:4:5: error: node 'a' is pinned to host 'no-such-host' (label ltb.host), but there is no host 'no-such-host'", unknown);

        var handMade = await Http.ReadAsync<HostDto>(await s.Admin.PostAsJsonAsync("/api/v1/hosts",
            new CreateHostRequest(ServerFixture.Unique("nh"), "https://10.0.0.2:7443", 2, 1L << 30)), 201);
        var unready = await RefusedAsync(Pinned(ServerFixture.Unique("p"), null, handMade.Name), 400);
        Assert.Contains($"node 'b' is pinned to host '{handMade.Name}' (label ltb.host), which is unreachable, not ready for new labs", unready);

        // a pinned to a remote host, b not pinned: placement keeps b with a (a lab spans hosts only when it must).
        var remote = await RegisterAsync("10.77.0.1");
        using (var content = LabTestSupport.Upload(Pinned(ServerFixture.Unique("p"), remote, null)))
        {
            var accepted = await Http.ReadAsync<LabTaskAccepted>(await s.Admin.PostAsync("/api/v1/labs", content), 202);
            Assert.Equal((remote, null), (accepted.Lab.Host, accepted.Lab.Hosts));
        }

        var untunnelled = await RegisterAsync(null);
        var noTunnel = await RefusedAsync(Pinned(ServerFixture.Unique("p"), remote, untunnelled), 400);
        Assert.Contains($"host '{untunnelled}' (nodes b) has not reported a tunnel address", noTunnel);
    }

    [Fact]
    public async Task A_lab_pinned_over_two_hosts_is_accepted_and_its_deployment_waits_for_the_hosts_that_do_not_answer()
    {
        var s = S;
        var (h1, h2) = (await RegisterAsync("10.77.0.1"), await RegisterAsync("10.77.0.2"));
        var name = ServerFixture.Unique("sp");
        using var content = LabTestSupport.Upload(Pinned(name, h1, h2));
        var accepted = await Http.ReadAsync<LabTaskAccepted>(await s.Admin.PostAsync("/api/v1/labs", content), 202);
        // No agent answers at those addresses: the task waits for them (without using its attempts) and says which.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        LabTaskDto task;
        do
        {
            await Task.Delay(500, TestContext.Current.CancellationToken);
            task = await Http.ReadAsync<LabTaskDto>(await s.Admin.GetAsync($"/api/v1/tasks/{accepted.Task.Id}"), 200);
        }
        while (task.Progress?.StartsWith("waiting for host", StringComparison.Ordinal) != true && DateTime.UtcNow < until);
        Assert.Equal(("queued", 0), (task.State, task.Attempts));
        Assert.Contains($"host '{h1}'", task.Progress);
        Assert.Contains($"host '{h2}'", task.Progress);
        Assert.Equal(new[] { h1, h2 }.Order(), accepted.Lab.Hosts!.Select(h => h.Name).Order());
    }

    [Fact]
    public async Task Reconfiguring_a_lab_pinned_over_two_hosts_keeps_its_layout_places_added_nodes_and_refuses_to_move_one()
    {
        var s = S;
        var (h1, h2) = (await RegisterAsync("10.77.0.1"), await RegisterAsync("10.77.0.2"));
        var name = ServerFixture.Unique("rc");
        var deployed = await Http.ReadAsync<LabTaskAccepted>(await PostAsync(Pinned(name, h1, h2), reconfigure: false), 202);

        // c (not pinned) is linked to b: it runs beside b; d is pinned to h1.
        var grown = $"""
            name: {name}
            topology:
              defaults: {Tiny}
              nodes:
                a:
                  labels: {Pin(h1)}
                b:
                  labels: {Pin(h2)}
                c: {Tiny}
                d:
                  labels: {Pin(h1)}
              links:
                - endpoints: ["a:eth1", "b:eth1"]
                - endpoints: ["b:eth2", "c:eth1"]
                - endpoints: ["c:eth2", "d:eth1"]
            """;
        await MarkRunningAsync(deployed.Lab.Id);
        var reconfigured = await Http.ReadAsync<LabTaskAccepted>(await PostAsync(grown, reconfigure: true), 202);
        Assert.Equal(new[] { (h1, 2), (h2, 2) }.Order(), reconfigured.Lab.Hosts!.Select(h => (h.Name, h.Nodes)).Order());

        await MarkRunningAsync(deployed.Lab.Id);
        var moved = (await Http.ProblemAsync(await PostAsync(Pinned(name, h2, h2), reconfigure: true), 409)).GetRawText();
        Assert.Contains($"lab '{name}' would change which hosts its nodes run on (a); destroy it first", moved);
        // With a alone, host h2 would be left without nodes (and keep its part of the lab).
        var alone = $"""
            name: {name}
            topology:
              nodes:
                a:
                  kind: linux
                  image: ltb/tiny:latest
                  labels: {Pin(h1)}
            """;
        var shrunk = (await Http.ProblemAsync(await PostAsync(alone, reconfigure: true), 409)).GetRawText();
        Assert.Contains($"lab '{name}' would change the hosts it spans", shrunk);
    }

    [Fact]
    public async Task Reconfiguring_a_lab_beyond_what_its_host_has_free_is_refused_naming_the_host()
    {
        var s = S;
        var host = await RegisterAsync(null); // 2 CPUs and 4 GiB: 256 CPUs and 8 GiB to placement (default overcommit 128 and 2)
        var name = ServerFixture.Unique("gr");
        string Lab(string cMemory) => $"""
            name: {name}
            topology:
              defaults: {Tiny}
              nodes:
                a:
                  labels: {Pin(host)}
                c:
                  memory: {cMemory}
            """;
        // a counts its node type's limits (linux: 0.5 CPU, 128 MiB), c its own memory and the type's 0.5 CPU.
        var deployed = await Http.ReadAsync<LabTaskAccepted>(await PostAsync(Lab("256MiB"), reconfigure: false), 202);
        Assert.Equal(host, deployed.Lab.Host);

        await MarkRunningAsync(deployed.Lab.Id);
        var refused = await Http.ProblemAsync(await PostAsync(Lab("8GiB"), reconfigure: true), 409);
        Assert.Equal($"lab '{name}' would not fit after the change: on host '{host}' it would need 1 CPUs and 8.1 GiB (it has 1 CPUs and 384 MiB), " +
            "and the host has 256 CPUs and 8 GiB free for it of 256 CPUs and 8 GiB. Add fewer nodes or lower their cpu/memory, " +
            "or destroy the lab and deploy it again (placement then chooses among all hosts)", refused.GetProperty("detail").GetString());

        // Growing within the host's room is accepted.
        await Http.ReadAsync<LabTaskAccepted>(await PostAsync(Lab("3GiB"), reconfigure: true), 202);
    }

    [Fact]
    public async Task A_vni_another_request_took_meanwhile_is_drawn_again()
    {
        var s = S;
        var (h1, h2) = (await RegisterAsync("10.77.0.1"), await RegisterAsync("10.77.0.2"));
        var accepted = await Http.ReadAsync<LabTaskAccepted>(await PostAsync(Pinned(ServerFixture.Unique("vn"), h1, h2), reconfigure: false), 202);
        await using var scope = s.Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        var taken = await db.LabTunnels.AsNoTracking().SingleAsync(t => t.LabId == accepted.Lab.Id);
        Assert.InRange(taken.Vni, LabTunnelAllocator.FirstVni, 0xFFFFFF);

        // A second link drew the same number (as a concurrent request may): saving draws it again.
        var drawn = new LabTunnel { Vni = taken.Vni, LabId = accepted.Lab.Id, LinkKey = "a:eth9-b:eth9" };
        db.LabTunnels.Add(drawn);
        await LabTunnelAllocator.SaveAsync(db, TestContext.Current.CancellationToken);
        var rows = await db.LabTunnels.AsNoTracking().Where(t => t.LabId == accepted.Lab.Id).ToListAsync();
        Assert.Equal(2, rows.Count);
        Assert.Equal(taken.LinkKey, rows.Single(r => r.Vni == taken.Vni).LinkKey);
        Assert.InRange(rows.Single(r => r.LinkKey == drawn.LinkKey).Vni, LabTunnelAllocator.FirstVni, 0xFFFFFF);
    }

    private const string Tiny = "{kind: linux, image: ltb/tiny:latest}";

    private static string Pin(string host) => $"{{ltb.host: {host}}}";

    private async Task<HttpResponseMessage> PostAsync(string yaml, bool reconfigure)
    {
        using var content = LabTestSupport.Upload(yaml);
        if (reconfigure)
        {
            content.Add(new StringContent("true"), "reconfigure");
        }
        return await S.Admin.PostAsync("/api/v1/labs", content);
    }

    /// <summary>No agent answers at the hosts' addresses: the lab is marked running, as a finished deployment leaves it.</summary>
    private async Task MarkRunningAsync(Guid lab)
    {
        await using var scope = S.Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        await db.Labs.Where(l => l.Id == lab).ExecuteUpdateAsync(u => u.SetProperty(l => l.State, LabLifecycle.Running));
    }
}

public sealed class NodePinsOnSqlite(SqliteServer fixture) : NodePinsTests<SqliteServer>(fixture);

public sealed class NodePinsOnPostgres(PostgresServer fixture) : NodePinsTests<PostgresServer>(fixture);
