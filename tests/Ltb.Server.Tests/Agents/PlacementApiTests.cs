using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Ltb.Agent;
using Ltb.Server.Api;
using Ltb.Server.Data;
using Ltb.Server.Labs.Placement;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// Placement through the API (both databases), with hosts registered as an agent would register them but without an
/// agent behind them: so only refusals and capacity figures are asserted here (a placed lab would be sent to no one);
/// labs placed and deployed on real agents: <see cref="RemoteHostTests"/> and the cluster tests.
/// </summary>
public abstract class PlacementApiTests<TServer>(TServer fixture) : IClassFixture<TServer>
    where TServer : ServerFixture
{
    private const long GiB = 1L << 30;
    private static readonly AgentFacts Facts = new(4, 8 * GiB, 50 * GiB, false, ["ltb/tiny:latest"], ["linux"], "20.10.24");

    private TServer S
    {
        get
        {
            fixture.Require();
            return fixture;
        }
    }

    /// <summary>A host registered with a new host token, and a client that speaks as its agent.</summary>
    private async Task<(Guid Id, string Name, HttpClient Agent)> RegisterAsync()
    {
        var name = ServerFixture.Unique("pl");
        var token = await Http.ReadAsync<CreatedHostTokenDto>(await S.Admin.PostAsJsonAsync("/api/v1/hosts/tokens", new CreateHostTokenRequest(name)), 201);
        var agent = new HttpClient { BaseAddress = S.BaseAddress };
        agent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Secret);
        var registered = await Http.ReadAsync<AgentRegistered>(await agent.PostAsJsonAsync("/api/v1/hosts/register",
            new AgentRegistration(name, "http://127.0.0.1:9", Facts, [], [], Ltb.Server.Hosting.AgentVersions.Controller.ToString(3))), 200);
        return (registered.HostId, name, agent);
    }

    /// <summary>The tiny lab with node a's CPU limit raised (its demand), optionally pinned to a host.</summary>
    private static MultipartFormDataContent Lab(double cpus, string? host = null, string prefix = "pl")
    {
        var yaml = LabTestSupport.TinyLab(ServerFixture.Unique(prefix)).Replace("      kind: linux\n      image: ltb/tiny:latest\n      exec: [\"ip addr add 10.0.0.1",
            $"      kind: linux\n      cpu: {cpus}\n      image: ltb/tiny:latest\n      exec: [\"ip addr add 10.0.0.1", StringComparison.Ordinal);
        Assert.Contains($"cpu: {cpus}", yaml);
        var content = LabTestSupport.Upload(yaml);
        if (host is not null)
        {
            content.Add(new StringContent(host), "host");
        }
        return content;
    }

    private static Dictionary<string, List<string>> Hosts(JsonElement problem) => problem.GetProperty("hosts").EnumerateArray()
        .ToDictionary(h => h.GetProperty("host").GetString()!, h => h.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!).ToList());

    [Fact]
    public async Task A_lab_that_fits_nowhere_is_refused_with_every_host_and_why()
    {
        var (_, name, agent) = await RegisterAsync();
        using var _ = agent;
        using var lab = Lab(cpus: 999.5); // and the other node's 0.5 (the linux type's)
        var problem = await Http.ProblemAsync(await S.Admin.PostAsync("/api/v1/labs", lab), 409);
        Assert.Equal("No host can take the lab", problem.GetProperty("title").GetString());
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.StartsWith("no host can take the lab (it needs 1000 CPUs and 256 MiB", detail);
        var hosts = Hosts(problem);
        // 4 CPUs and 8 GiB reported, times the default overcommits.
        Assert.Equal("no capacity: needs 1000 CPUs and 256 MiB, has 512 CPUs and 16 GiB free of 512 CPUs and 16 GiB", Assert.Single(hosts[name]));
        Assert.StartsWith("no capacity: needs 1000 CPUs", Assert.Single(hosts["local"]));
        Assert.Contains($"{name}: no capacity", detail);
        // Nothing was created: the name is free, no lab is listed.
        var labs = await Http.ReadAsync<Paged<LabDto>>(await S.Admin.GetAsync("/api/v1/labs?all=true"), 200);
        Assert.DoesNotContain(labs.Items, l => l.Name.StartsWith("pl", StringComparison.Ordinal) && l.State != "removed");
    }

    [Fact]
    public async Task A_placed_labs_demand_counts_on_its_host_and_labs_stored_before_demands_were_recorded_get_theirs_at_start()
    {
        var (id, name, agent) = await RegisterAsync();
        using var _ = agent;
        using var lab = Lab(cpus: 1.5, host: name, prefix: "inv"); // not "pl": another test asserts no such lab was created
        var accepted = await Http.ReadAsync<LabTaskAccepted>(await S.Admin.PostAsync("/api/v1/labs", lab), 202);
        var expected = new HostResourcesDto(2, 256L << 20); // a: 1.5 CPUs, b: 0.5 (the linux type's); a and b: 128 MiB each
        Assert.Equal(expected, (await Http.ReadAsync<HostDto>(await S.Admin.GetAsync($"/api/v1/hosts/{id}"), 200)).Allocated);

        // An upgrade from a version without the rows: the start-up backfill derives them from the latest deployment.
        await using var scope = S.Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        await db.LabHostShares.Where(s => s.LabId == accepted.Lab.Id).ExecuteDeleteAsync(TestContext.Current.CancellationToken);
        Assert.Equal(new HostResourcesDto(0, 0), (await Http.ReadAsync<HostDto>(await S.Admin.GetAsync($"/api/v1/hosts/{id}"), 200)).Allocated);
        await HostInventory.BackfillAsync(db, TestContext.Current.CancellationToken);
        Assert.Equal(expected, (await Http.ReadAsync<HostDto>(await S.Admin.GetAsync($"/api/v1/hosts/{id}"), 200)).Allocated);
    }

    [Fact]
    public async Task An_admins_capacity_override_survives_heartbeats_and_is_what_placement_uses()
    {
        var (id, name, agent) = await RegisterAsync();
        using var _ = agent;
        var before = await S.Admin.GetAsync($"/api/v1/hosts/{id}");
        var host = await Http.ReadAsync<HostDto>(before, 200);
        Assert.Equal((4, (int?)null, new HostResourcesDto(4 * HostOffer.CpuOvercommit, 16 * GiB), new HostResourcesDto(0, 0), 0),
            (host.Cpus, host.CpusOverride, host.Capacity, host.Allocated, host.Labs));
        Assert.Equal((HostOffer.CpuOvercommit, HostOffer.MemoryOvercommit), (host.CpuOvercommit, host.MemoryOvercommit));

        using var patch = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/hosts/{id}") { Content = JsonContent.Create(new UpdateHostRequest(Cpus: 1, MemoryBytes: GiB)) };
        patch.Headers.IfMatch.Add(before.Headers.ETag!);
        host = await Http.ReadAsync<HostDto>(await S.Admin.SendAsync(patch), 200);
        Assert.Equal((1, GiB, new HostResourcesDto(1, GiB)), (host.CpusOverride, host.MemoryBytesOverride, host.Capacity));

        // The agent keeps reporting what it measures; the admin's figures stay.
        var unremapped = new Ltb.Runtime.Docker.EngineIsolation(UserNamespaces: false, Seccomp: true, AppArmor: false);
        await Http.EnsureAsync(await agent.PostAsJsonAsync($"/api/v1/hosts/{id}/heartbeat", new AgentHeartbeat(Facts with { Cpus = 6, Isolation = unremapped }, [])), 204, "heartbeat");
        host = await Http.ReadAsync<HostDto>(await S.Admin.GetAsync($"/api/v1/hosts/{id}"), 200);
        Assert.Equal((6, 1, GiB, new HostResourcesDto(1, GiB)), (host.Cpus, host.CpusOverride, host.MemoryBytesOverride, host.Capacity));
        // The engine's isolation is on the host's record, with what it means when root in a node is root on the host.
        Assert.Equal((false, true, false), (host.Isolation!.UserNamespaces, host.Isolation.Seccomp, host.Isolation.AppArmor));
        Assert.Contains("--userns-remap=default", host.Isolation.Warning, StringComparison.Ordinal);

        // Placement counts the override: 1 CPU cannot hold a node of 2 CPUs, although the host reports 6.
        using var lab = Lab(cpus: 2, host: name);
        var problem = await Http.ProblemAsync(await S.Admin.PostAsync("/api/v1/labs", lab), 409);
        Assert.Equal($"host '{name}' cannot take the lab (it needs 2.5 CPUs and 256 MiB): no capacity: needs 2.5 CPUs and 256 MiB, has 1 CPUs and 1 GiB free of 1 CPUs and 1 GiB",
            problem.GetProperty("detail").GetString());
        Assert.Equal([name], Hosts(problem).Keys);

        // Reset: the reported figures count again.
        var current = await S.Admin.GetAsync($"/api/v1/hosts/{id}");
        using var reset = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/hosts/{id}") { Content = JsonContent.Create(new UpdateHostRequest(ResetCapacity: true)) };
        reset.Headers.IfMatch.Add(current.Headers.ETag!);
        host = await Http.ReadAsync<HostDto>(await S.Admin.SendAsync(reset), 200);
        Assert.Equal(((int?)null, (long?)null, new HostResourcesDto(6 * HostOffer.CpuOvercommit, 16 * GiB)), (host.CpusOverride, host.MemoryBytesOverride, host.Capacity));

        // The admin's overcommits: what the reported figures are worth to placement.
        current = await S.Admin.GetAsync($"/api/v1/hosts/{id}");
        using var overcommit = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/hosts/{id}") { Content = JsonContent.Create(new UpdateHostRequest(CpuOvercommit: 4, MemoryOvercommit: 1)) };
        overcommit.Headers.IfMatch.Add(current.Headers.ETag!);
        host = await Http.ReadAsync<HostDto>(await S.Admin.SendAsync(overcommit), 200);
        Assert.Equal((4.0, 1.0, new HostResourcesDto(24, 8 * GiB)), (host.CpuOvercommit, host.MemoryOvercommit, host.Capacity));
        current = await S.Admin.GetAsync($"/api/v1/hosts/{id}");
        using var invalid = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/hosts/{id}") { Content = JsonContent.Create(new UpdateHostRequest(MemoryOvercommit: 0.5)) };
        invalid.Headers.IfMatch.Add(current.Headers.ETag!);
        var refused = await Http.ProblemAsync(await S.Admin.SendAsync(invalid), 400);
        Assert.Contains("memoryOvercommit", refused.GetRawText(), StringComparison.Ordinal);
    }
}

public sealed class PlacementApiOnSqlite(SqliteServer fixture) : PlacementApiTests<SqliteServer>(fixture);

public sealed class PlacementApiOnPostgres(PostgresServer fixture) : PlacementApiTests<PostgresServer>(fixture);
