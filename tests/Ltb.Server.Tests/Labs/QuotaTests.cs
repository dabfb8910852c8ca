using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Ltb.Agent;
using Ltb.Server.Api;
using Ltb.Server.Data;
using Ltb.Server.Policy;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Topology.Policy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// Role and group quotas through the deploy endpoint (both databases). The labs go to a host registered as an agent
/// would register it, with no agent behind it: only the accounting is asserted here, not a deployment. Each test has
/// its own users, group and host, and sets the policy it needs (the tests of a class run one after the other).
/// </summary>
public abstract class QuotaTests<TServer>(TServer fixture) : IClassFixture<TServer>
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

    /// <summary>The policy with these quotas (and no others), as an admin sets it.</summary>
    private Task SetQuotasAsync(Dictionary<string, Quota>? roles = null, Dictionary<string, Quota>? groups = null) =>
        S.SetPolicyAsync(TenantPolicy.Default with
        {
            RoleQuotas = roles ?? new Dictionary<string, Quota>(StringComparer.Ordinal),
            GroupQuotas = groups ?? new Dictionary<string, Quota>(StringComparer.Ordinal),
        });

    /// <summary>A host with room for everything the tests ask (no agent answers at its address).</summary>
    private async Task<string> RegisterHostAsync()
    {
        var name = ServerFixture.Unique("qh");
        var token = await Http.ReadAsync<CreatedHostTokenDto>(await S.Admin.PostAsJsonAsync("/api/v1/hosts/tokens", new CreateHostTokenRequest(name)), 201);
        using var agent = new HttpClient { BaseAddress = S.BaseAddress };
        agent.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Secret);
        var facts = new AgentFacts(64, 256L << 30, 100L << 30, false, ["ltb/tiny:latest"], ["linux"], "test");
        await Http.ReadAsync<AgentRegistered>(await agent.PostAsJsonAsync("/api/v1/hosts/register",
            new AgentRegistration(name, "http://127.0.0.1:9", facts, null, [], Ltb.Server.Hosting.AgentVersions.Controller.ToString(3))), 200);
        return name;
    }

    private async Task<HttpClient> StudentAsync(string prefix = "qs")
    {
        var user = await S.CreateUserAsync(prefix, "student");
        return await S.LoginAsync(user.UserName, ServerFixture.UserPassword);
    }

    /// <summary>A lab of <paramref name="nodes"/> tiny nodes, each with the CPUs and memory given.</summary>
    private static string Lab(string name, int nodes = 1, double cpu = 0.5, string memory = "128MiB") => $"""
        name: {name}
        topology:
          defaults: {"{"}kind: linux, image: ltb/tiny:latest, cpu: {cpu}, memory: {memory}{"}"}
          nodes:
        {string.Concat(Enumerable.Range(1, nodes).Select(i => $"    n{i}: {{}}\n"))}
        """;

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string yaml, string host, bool reconfigure = false)
    {
        using var content = LabTestSupport.Upload(yaml);
        content.Add(new StringContent(host), "host");
        if (reconfigure)
        {
            content.Add(new StringContent("true"), "reconfigure");
        }
        return await client.PostAsync("/api/v1/labs", content);
    }

    private static async Task<string> RefusedAsync(HttpResponseMessage response)
    {
        var problem = await Http.ProblemAsync(response, 409);
        Assert.Equal("Quota exceeded", problem.GetProperty("title").GetString());
        return problem.GetProperty("detail").GetString()!;
    }

    private async Task SetStateAsync(Guid lab, LabLifecycle state)
    {
        await using var scope = S.Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        await db.Labs.Where(l => l.Id == lab).ExecuteUpdateAsync(u => u.SetProperty(l => l.State, state));
    }

    [Fact]
    public async Task A_student_at_the_running_labs_quota_is_refused_naming_the_labs_and_admins_are_not_limited()
    {
        var host = await RegisterHostAsync();
        await SetQuotasAsync(roles: new() { ["student"] = new Quota { RunningLabs = 2 } });
        using var student = await StudentAsync();
        var (a, b) = (ServerFixture.Unique("la"), ServerFixture.Unique("lb"));
        var first = await Http.ReadAsync<LabTaskAccepted>(await PostAsync(student, Lab(a), host), 202);
        await Http.ReadAsync<LabTaskAccepted>(await PostAsync(student, Lab(b), host), 202);

        var third = ServerFixture.Unique("lc");
        var detail = await RefusedAsync(await PostAsync(student, Lab(third), host));
        Assert.Equal($"role 'student' may run at most 2 labs at once; you run 2 ({a}, {b}): destroy one first", detail);
        // Nothing was created.
        var labs = await Http.ReadAsync<Paged<LabDto>>(await student.GetAsync("/api/v1/labs"), 200);
        Assert.DoesNotContain(labs.Items, l => l.Name == third);

        // A failed lab still counts (it may hold containers); a removed one does not.
        await SetStateAsync(first.Lab.Id, LabLifecycle.Failed);
        await RefusedAsync(await PostAsync(student, Lab(third), host));
        await SetStateAsync(first.Lab.Id, LabLifecycle.Removed);
        await Http.ReadAsync<LabTaskAccepted>(await PostAsync(student, Lab(third), host), 202);

        // Admins are exempt.
        await SetQuotasAsync(roles: new() { ["student"] = new Quota { RunningLabs = 2 }, ["admin"] = new Quota { RunningLabs = 0 } });
        await Http.ReadAsync<LabTaskAccepted>(await PostAsync(S.Admin, Lab(ServerFixture.Unique("ad")), host), 202);
    }

    [Fact]
    public async Task Nodes_cpus_and_memory_quotas_count_what_placement_counts_and_a_reconfigure_may_not_grow_past_them()
    {
        var host = await RegisterHostAsync();
        await SetQuotasAsync(roles: new() { ["student"] = new Quota { Nodes = 5, Cpus = 3, MemoryBytes = 1L << 30 } });
        using var student = await StudentAsync();
        var a = ServerFixture.Unique("na");
        await Http.ReadAsync<LabTaskAccepted>(await PostAsync(student, Lab(a, nodes: 3, cpu: 0.5, memory: "128MiB"), host), 202);

        var nodes = await RefusedAsync(await PostAsync(student, Lab(ServerFixture.Unique("nb"), nodes: 3), host));
        Assert.Equal($"role 'student' may run at most 5 nodes at once; you run 3 in 1 lab ({a}) and this lab needs 3: " +
            "use fewer nodes or destroy a lab first", nodes);
        var cpus = await RefusedAsync(await PostAsync(student, Lab(ServerFixture.Unique("nb"), nodes: 1, cpu: 2), host));
        Assert.Equal($"role 'student' may use at most 3 CPUs at once; your labs use 1.5 ({a}) and this lab needs 2: " +
            "lower the nodes' cpu or destroy a lab first", cpus);
        var memory = await RefusedAsync(await PostAsync(student, Lab(ServerFixture.Unique("nb"), nodes: 1, memory: "700MiB"), host));
        Assert.Equal($"role 'student' may use at most 1 GiB of memory at once; your labs use 384 MiB ({a}) and this lab needs 700 MiB: " +
            "lower the nodes' memory or destroy a lab first", memory);
        var b = ServerFixture.Unique("nb");
        var fits = await Http.ReadAsync<LabTaskAccepted>(await PostAsync(student, Lab(b, nodes: 2, cpu: 0.5, memory: "256MiB"), host), 202);

        // Reconfigure: the lab's own figures are replaced, not added; growing past the quota is refused.
        await SetStateAsync(fits.Lab.Id, LabLifecycle.Running);
        var grown = await RefusedAsync(await PostAsync(student, Lab(b, nodes: 3, cpu: 0.5, memory: "256MiB"), host, reconfigure: true));
        Assert.Equal($"role 'student' may run at most 5 nodes at once; you run 3 in 1 other lab ({a}) and this lab would need 3 " +
            "after the change: use fewer nodes or destroy a lab first", grown);
        var accepted = await Http.ReadAsync<LabTaskAccepted>(await PostAsync(student, Lab(b, nodes: 2, cpu: 0.75, memory: "256MiB"), host, reconfigure: true), 202);
        Assert.Equal(b, accepted.Lab.Name);

        // Lowered below what runs: a reconfigure that does not grow is still accepted.
        await SetQuotasAsync(roles: new() { ["student"] = new Quota { Nodes = 1 } });
        await SetStateAsync(fits.Lab.Id, LabLifecycle.Running);
        await Http.ReadAsync<LabTaskAccepted>(await PostAsync(student, Lab(b, nodes: 2, cpu: 0.5, memory: "128MiB"), host, reconfigure: true), 202);
    }

    [Fact]
    public async Task A_group_quota_bounds_what_its_members_run_together_and_names_only_the_callers_labs()
    {
        var host = await RegisterHostAsync();
        var (u1, u2) = (await S.CreateUserAsync("qg", "student"), await S.CreateUserAsync("qg", "student"));
        var group = await S.CreateGroupAsync("course", u1.Id, u2.Id);
        await SetQuotasAsync(groups: new() { [group.Name] = new Quota { RunningLabs = 2 } });
        using var first = await S.LoginAsync(u1.UserName, ServerFixture.UserPassword);
        using var second = await S.LoginAsync(u2.UserName, ServerFixture.UserPassword);
        await Http.ReadAsync<LabTaskAccepted>(await PostAsync(first, Lab(ServerFixture.Unique("g1")), host), 202);
        var mine = ServerFixture.Unique("g2");
        await Http.ReadAsync<LabTaskAccepted>(await PostAsync(second, Lab(mine), host), 202);

        var detail = await RefusedAsync(await PostAsync(second, Lab(ServerFixture.Unique("g3")), host));
        Assert.Equal($"group '{group.Name}' may run at most 2 labs at once; its members run 2 (yours: {mine}): destroy one first", detail);
        // The role quota (3 running labs by default for students) is not what refused: the tightest quota applies.
        await SetQuotasAsync(roles: new() { ["student"] = new Quota { RunningLabs = 3 } }, groups: new() { [group.Name] = new Quota { RunningLabs = 5 } });
        await Http.ReadAsync<LabTaskAccepted>(await PostAsync(second, Lab(ServerFixture.Unique("g3")), host), 202);
    }

    [Fact]
    public async Task Concurrent_deployments_cannot_both_take_the_last_lab_of_a_quota()
    {
        var host = await RegisterHostAsync();
        await SetQuotasAsync(roles: new() { ["student"] = new Quota { RunningLabs = 1 } });
        using var student = await StudentAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => PostAsync(student, Lab(ServerFixture.Unique("cc")), host)));
        var statuses = responses.Select(r => r.StatusCode).ToList();
        Assert.Equal(1, statuses.Count(s => s == HttpStatusCode.Accepted));
        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.Conflict));
        foreach (var refused in responses.Where(r => r.StatusCode == HttpStatusCode.Conflict))
        {
            var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("runningLabs", problem.GetProperty("quota").GetProperty("resource").GetString());
        }
        var labs = await Http.ReadAsync<Paged<LabDto>>(await student.GetAsync("/api/v1/labs"), 200);
        Assert.Single(labs.Items, l => l.State != "removed");
    }
}

public sealed class QuotasOnSqlite(SqliteServer fixture) : QuotaTests<SqliteServer>(fixture);

public sealed class QuotasOnPostgres(PostgresServer fixture) : QuotaTests<PostgresServer>(fixture);
