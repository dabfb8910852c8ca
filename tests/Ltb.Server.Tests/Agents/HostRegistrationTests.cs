using System.Net.Http.Headers;
using System.Net.Http.Json;
using Ltb.Agent;
using Ltb.Server.Api;
using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Agents;

/// <summary>Registration, heartbeats, silence and revocation through the API, without a real agent (fast, both databases).</summary>
public abstract class HostRegistrationTests<TServer>(TServer fixture) : IClassFixture<TServer>
    where TServer : ServerFixture
{
    private static readonly AgentFacts Facts = new(4, 8L << 30, 50L << 30, false, ["ltb/tiny:latest"], ["linux"], "20.10.24");

    private TServer S
    {
        get
        {
            fixture.Require();
            return fixture;
        }
    }

    private HttpClient AgentClient(string token)
    {
        var client = new HttpClient { BaseAddress = S.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static AgentRegistration Registration(string name) =>
        new(name, "http://127.0.0.1:9", Facts, new() { ["rack"] = "r1" }, [], AgentVersions.Controller.ToString(3));

    [Fact]
    public async Task An_agent_one_minor_version_older_registers_and_other_versions_are_refused_with_what_to_upgrade()
    {
        var s = S;
        var name = ServerFixture.Unique("v");
        var token = await Http.ReadAsync<CreatedHostTokenDto>(await s.Admin.PostAsJsonAsync("/api/v1/hosts/tokens", new CreateHostTokenRequest(name)), 201);
        using var agent = AgentClient(token.Secret);
        var controller = AgentVersions.Controller;
        var newer = await Http.ProblemAsync(await agent.PostAsJsonAsync("/api/v1/hosts/register",
            Registration(name) with { Version = $"{controller.Major}.{controller.Minor + 1}.0" }), 409);
        Assert.Contains("is newer than this controller's", newer.GetProperty("detail").GetString());
        Assert.Contains("upgrade the controller first", newer.GetProperty("detail").GetString());
        var garbage = await Http.ProblemAsync(await agent.PostAsJsonAsync("/api/v1/hosts/register", Registration(name) with { Version = "test" }), 409);
        Assert.Contains("the agent reports no version this controller understands ('test')", garbage.GetProperty("detail").GetString());
        // Refused registrations bound nothing: the host does not exist.
        Assert.DoesNotContain((await Http.ReadAsync<Paged<HostDto>>(await s.Admin.GetAsync("/api/v1/hosts"), 200)).Items, h => h.Name == name);

        var older = controller.Minor > 0 ? $"{controller.Major}.{controller.Minor - 1}.7" : $"{controller.Major}.{controller.Minor}.0";
        var registered = await Http.ReadAsync<AgentRegistered>(await agent.PostAsJsonAsync("/api/v1/hosts/register",
            Registration(name) with { Version = older + "+abc1234" }), 200);
        var host = await Http.ReadAsync<HostDto>(await s.Admin.GetAsync($"/api/v1/hosts/{registered.HostId}"), 200);
        Assert.Equal(older + "+abc1234", host.AgentVersion);
    }

    [Fact]
    public async Task A_host_token_registers_one_host_whose_heartbeats_keep_it_ready_until_silence_or_revocation()
    {
        var s = S;
        var name = ServerFixture.Unique("h");
        // No token, or a user's token (even an admin's), opens no registration.
        using (var anonymous = s.Anonymous())
        {
            await Http.ProblemAsync(await anonymous.PostAsJsonAsync("/api/v1/hosts/register", Registration(name)), 401);
        }
        await Http.ProblemAsync(await s.Admin.PostAsJsonAsync("/api/v1/hosts/register", Registration(name)), 401);

        var token = await Http.ReadAsync<CreatedHostTokenDto>(await s.Admin.PostAsJsonAsync("/api/v1/hosts/tokens", new CreateHostTokenRequest(name)), 201);
        Assert.StartsWith("ltbh_", token.Secret);
        using var agent = AgentClient(token.Secret);
        var invalid = await Http.ProblemAsync(await agent.PostAsJsonAsync("/api/v1/hosts/register", Registration(name) with { Address = "ftp://x" }), 400);
        Assert.Contains("address", invalid.GetProperty("errors").EnumerateObject().Select(p => p.Name));
        var registered = await Http.ReadAsync<AgentRegistered>(await agent.PostAsJsonAsync("/api/v1/hosts/register", Registration(name)), 200);
        Assert.True(registered.Secret.Length >= 40);
        var host = await Http.ReadAsync<HostDto>(await s.Admin.GetAsync($"/api/v1/hosts/{registered.HostId}"), 200);
        Assert.Equal((name, "ready", "http://127.0.0.1:9", 4, 50L << 30), (host.Name, host.State, host.Address, host.Cpus, host.DiskBytes));
        Assert.Equal(["ltb/tiny:latest"], host.Images!);
        Assert.Equal("r1", host.Labels["rack"]);
        var tokens = await Http.ReadAsync<List<HostTokenDto>>(await s.Admin.GetAsync("/api/v1/hosts/tokens"), 200);
        Assert.Equal(registered.HostId, tokens.Single(t => t.Id == token.Token.Id).HostId);

        // The token is bound to its host: another name is refused, and another token cannot take the host over.
        await Http.ProblemAsync(await agent.PostAsJsonAsync("/api/v1/hosts/register", Registration(name + "x")), 409);
        var other = await Http.ReadAsync<CreatedHostTokenDto>(await s.Admin.PostAsJsonAsync("/api/v1/hosts/tokens", new CreateHostTokenRequest("other")), 201);
        using (var intruder = AgentClient(other.Secret))
        {
            await Http.ProblemAsync(await intruder.PostAsJsonAsync("/api/v1/hosts/register", Registration(name)), 409);
            await Http.ProblemAsync(await intruder.PostAsJsonAsync($"/api/v1/hosts/{registered.HostId}/heartbeat", new AgentHeartbeat(Facts, [])), 404);
        }
        // A re-registration (agent restart) replaces the secret and keeps the host.
        var again = await Http.ReadAsync<AgentRegistered>(await agent.PostAsJsonAsync("/api/v1/hosts/register", Registration(name)), 200);
        Assert.Equal(registered.HostId, again.HostId);
        Assert.NotEqual(registered.Secret, again.Secret);

        // Silence makes it unreachable; the next heartbeat makes it ready again; facts change without a new version.
        var version = (await Http.ReadAsync<HostDto>(await s.Admin.GetAsync($"/api/v1/hosts/{registered.HostId}"), 200)).Version;
        Assert.Equal("unreachable", await WaitForStateAsync(registered.HostId, "unreachable"));
        await Http.EnsureAsync(await agent.PostAsJsonAsync($"/api/v1/hosts/{registered.HostId}/heartbeat",
            new AgentHeartbeat(Facts with { Cpus = 8 }, [])), 204, "heartbeat");
        var back = await Http.ReadAsync<HostDto>(await s.Admin.GetAsync($"/api/v1/hosts/{registered.HostId}"), 200);
        Assert.Equal(("ready", 8), (back.State, back.Cpus));
        await Http.EnsureAsync(await agent.PostAsJsonAsync($"/api/v1/hosts/{registered.HostId}/heartbeat",
            new AgentHeartbeat(Facts with { Cpus = 6 }, [])), 204, "heartbeat");
        var facts = await Http.ReadAsync<HostDto>(await s.Admin.GetAsync($"/api/v1/hosts/{registered.HostId}"), 200);
        Assert.Equal((6, back.Version), (facts.Cpus, facts.Version));
        Assert.True(back.Version > version);

        // Revoked: heartbeats are refused and the controller stops using the host at once.
        await Http.EnsureAsync(await s.Admin.DeleteAsync($"/api/v1/hosts/tokens/{token.Token.Id}"), 204, "revoke");
        await Http.ProblemAsync(await agent.PostAsJsonAsync($"/api/v1/hosts/{registered.HostId}/heartbeat", new AgentHeartbeat(Facts, [])), 401);
        Assert.Equal("unreachable", (await Http.ReadAsync<HostDto>(await s.Admin.GetAsync($"/api/v1/hosts/{registered.HostId}"), 200)).State);
        await Http.ProblemAsync(await agent.PostAsJsonAsync("/api/v1/hosts/register", Registration(name)), 401);
    }

    [Fact]
    public async Task A_lab_can_only_be_placed_on_a_host_that_exists_and_is_ready()
    {
        var s = S;
        using var missing = Labs.LabTestSupport.Upload(Labs.LabTestSupport.TinyLab(ServerFixture.Unique("p")));
        missing.Add(new StringContent("no-such-host"), "host");
        var problem = await Http.ProblemAsync(await s.Admin.PostAsync("/api/v1/labs", missing), 400);
        Assert.Contains("there is no host 'no-such-host'", problem.GetRawText());
        // A host added by hand has no agent yet: unreachable, not ready for labs.
        var host = await Http.ReadAsync<HostDto>(await s.Admin.PostAsJsonAsync("/api/v1/hosts",
            new CreateHostRequest(ServerFixture.Unique("nh"), "https://10.0.0.2:7443", 2, 1L << 30)), 201);
        using var unready = Labs.LabTestSupport.Upload(Labs.LabTestSupport.TinyLab(ServerFixture.Unique("p")));
        unready.Add(new StringContent(host.Name), "host");
        problem = await Http.ProblemAsync(await s.Admin.PostAsync("/api/v1/labs", unready), 409);
        Assert.Contains($"host '{host.Name}' cannot take the lab (it needs 1 CPUs and 256 MiB): not ready (unreachable)", problem.GetRawText());
    }

    private async Task<string> WaitForStateAsync(Guid host, string state)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        string current;
        do
        {
            current = (await Http.ReadAsync<HostDto>(await S.Admin.GetAsync($"/api/v1/hosts/{host}"), 200)).State;
            if (current == state)
            {
                break;
            }
            await Task.Delay(250);
        }
        while (DateTime.UtcNow < until);
        return current;
    }
}

/// <summary>Short heartbeat timings so that silence shows within seconds.</summary>
public sealed class SqliteAgentsServer : SqliteServer
{
    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        options.HeartbeatInterval = TimeSpan.FromSeconds(1);
        options.HostSilence = TimeSpan.FromSeconds(2);
    }
}

public sealed class PostgresAgentsServer : PostgresServer
{
    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        options.HeartbeatInterval = TimeSpan.FromSeconds(1);
        options.HostSilence = TimeSpan.FromSeconds(2);
    }
}

public sealed class HostRegistrationOnSqlite(SqliteAgentsServer fixture) : HostRegistrationTests<SqliteAgentsServer>(fixture);

public sealed class HostRegistrationOnPostgres(PostgresAgentsServer fixture) : HostRegistrationTests<PostgresAgentsServer>(fixture);
