using System.Net.Http.Headers;
using System.Net.Http.Json;
using Docker.DotNet.Models;
using Ltb.Runtime.Docker;
using Ltb.Server.Api;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.Labs;

/// <summary>Helpers shared by the lab tests: uploads, waiting for tasks, what the engine holds for a lab.</summary>
public static class LabTestSupport
{
    public static readonly TimeSpan TaskTimeout = TimeSpan.FromMinutes(5);

    public static void RequireDocker() =>
        Prerequisite.Require(File.Exists("/var/run/docker.sock") && HostCommand.Exists("ip"), "a Docker engine (/var/run/docker.sock) and iproute2");

    /// <summary>Two ltb/tiny nodes with addresses on their link.</summary>
    public static string TinyLab(string name, string image = "ltb/tiny:latest") => $"""
        name: {name}
        topology:
          nodes:
            a:
              kind: linux
              image: {image}
              exec: ["ip addr add 10.0.0.1/24 dev eth1"]
            b:
              kind: linux
              image: ltb/tiny:latest
              exec: ["ip addr add 10.0.0.2/24 dev eth1"]
          links:
            - endpoints: ["a:eth1", "b:eth1"]
        """;

    public static MultipartFormDataContent Upload(string yaml, string fileName = "lab.clab.yml", bool rollback = false, string? linkBackend = null)
    {
        var content = new MultipartFormDataContent();
        var file = new StringContent(yaml);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Add(file, "topology", fileName);
        content.Add(new StringContent(rollback ? "rollback" : "keep"), "onFailure");
        if (linkBackend is not null)
        {
            content.Add(new StringContent(linkBackend), "linkBackend");
        }
        return content;
    }

    public static async Task<LabTaskAccepted> DeployAsync(HttpClient client, string yaml, bool rollback = false, string? linkBackend = null)
    {
        using var content = Upload(yaml, rollback: rollback, linkBackend: linkBackend);
        using var api = new LtbApiClient(client);
        return await api.DeployLabAsync(content, TestContext.Current.CancellationToken);
    }

    public static async Task<LabTaskDto> WaitAsync(HttpClient client, Guid task)
    {
        using var timeout = new CancellationTokenSource(TaskTimeout);
        using var api = new LtbApiClient(client);
        while (true)
        {
            var t = await api.GetTaskAsync(task, timeout.Token);
            if (t.State is "succeeded" or "failed" or "interrupted")
            {
                return t;
            }
            await Task.Delay(500, timeout.Token);
        }
    }

    /// <summary>Makes a node write a line to its own output (its init's stdout, which the engine keeps as its log).</summary>
    public static async Task SayAsync(HttpClient client, string lab, string node, string line)
    {
        var said = await Http.ReadAsync<ExecResponse>(await client.PostAsJsonAsync($"/api/v1/labs/{lab}/exec",
            new ExecRequest(node, ["sh", "-c", $"echo {line} > /proc/1/fd/1"])), 200);
        Assert.True(said.ExitCode == 0, said.Stderr);
    }

    /// <summary>
    /// Follows a node's output (logs?follow=true): the answer starts before the node writes anything; then
    /// <paramref name="line"/> is said and must arrive on the open stream.
    /// </summary>
    public static async Task FollowAsync(HttpClient client, string lab, string node, string line)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await client.GetAsync($"/api/v1/labs/{lab}/nodes/{node}/logs?follow=true&tail=0",
            HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        await SayAsync(client, lab, node, line);
        var seen = "";
        while (!seen.Contains(line, StringComparison.Ordinal))
        {
            seen += await reader.ReadLineAsync(timeout.Token) ?? throw new Xunit.Sdk.XunitException($"the stream ended before '{line}': {seen}");
        }
    }

    /// <summary>The lab's containers (by its label) on the engine.</summary>
    public static async Task<int> ContainersAsync(string runtimeName, string? dockerHost = null)
    {
        using var engine = DockerEngine.Connect(dockerHost);
        var filter = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"org.ltb.lab={runtimeName}"] = true } };
        return (await engine.Client.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = filter })).Count;
    }

    /// <summary>
    /// Containers and networks the engine holds with the lab's label, and its namespaces when the engine is this
    /// machine's (<paramref name="dockerHost"/> null; another host's are out of sight).
    /// </summary>
    public static async Task<int> LeftoversAsync(string runtimeName, string? dockerHost = null)
    {
        using var engine = DockerEngine.Connect(dockerHost);
        var filter = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"org.ltb.lab={runtimeName}"] = true } };
        var containers = await engine.Client.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = filter });
        var networks = await engine.Client.Networks.ListNetworksAsync(new NetworksListParameters { Filters = filter });
        var namespaces = dockerHost is null && Directory.Exists("/run/netns") ? Directory.GetFiles("/run/netns", $"ltb-{runtimeName}-*").Length : 0;
        return containers.Count + networks.Count + namespaces;
    }

    /// <summary>Polls <paramref name="condition"/> every 200 ms; fails naming <paramref name="what"/> after
    /// <paramref name="within"/> (20 s unless given).</summary>
    public static async Task WaitForAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        var limit = within ?? TimeSpan.FromSeconds(20);
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited {limit.TotalSeconds:0} s for {what}");
            await Task.Delay(200);
        }
    }
}

/// <summary>Labs through the API on one server (SQLite and PostgreSQL) and the real Docker engine.</summary>
public abstract class LabsApiTests<TServer>(TServer fixture) : IClassFixture<TServer>
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

    [Theory]
    [InlineData("linux-bridge")]
    [InlineData("ovs")]
    public async Task A_lab_runs_on_the_link_backend_its_user_chose(string backend)
    {
        LabTestSupport.RequireDocker();
        var admin = S.Admin;
        var name = ServerFixture.Unique("b");
        await using var deployed = await ServerLab.RunAsync(admin, LabTestSupport.TinyLab(name), linkBackend: backend);
        var lab = await Http.ReadAsync<LabDto>(await admin.GetAsync($"/api/v1/labs/{name}"), 200);

        var ping = await Http.ReadAsync<ExecResponse>(await admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec",
            new ExecRequest("a", ["ping", "-c", "2", "-W", "2", "10.0.0.2"])), 200);
        Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);
        // Unlike a plain veth pair, a bridged link has host-side ports, each marked with the alias ltb/LAB/...
        Assert.Contains($"ltb/{lab.RuntimeName}/", await AliasesAsync());

        await deployed.DestroyAsync();
        await deployed.AssertNoLeftoversAsync();
        Assert.DoesNotContain($"ltb/{lab.RuntimeName}/", await AliasesAsync());
    }

    /// <summary>The runtime marks every host-side interface of a lab with the alias ltb/LAB/...</summary>
    private static async Task<string> AliasesAsync() => (await HostCommand.RunAsync("ip", "-o", "-d", "link", "show")).Stdout;

    [Fact]
    public async Task An_unknown_link_backend_is_refused_with_the_choices()
    {
        using var content = LabTestSupport.Upload(LabTestSupport.TinyLab(ServerFixture.Unique("u")), linkBackend: "wires");
        var problem = await Http.ProblemAsync(await S.Admin.PostAsync("/api/v1/labs", content), 400);
        Assert.Contains("veth, linux-bridge, ovs, not 'wires'", problem.GetRawText());
    }

    [Fact]
    public async Task A_tiny_lab_deploys_its_nodes_ping_over_the_link_and_destroy_leaves_nothing()
    {
        LabTestSupport.RequireDocker();
        var admin = S.Admin;
        var name = ServerFixture.Unique("t");
        await using var deployed = await ServerLab.RunAsync(admin, LabTestSupport.TinyLab(name));

        var lab = await Http.ReadAsync<LabDto>(await admin.GetAsync($"/api/v1/labs/{name}"), 200);
        Assert.Equal("running", lab.State);
        Assert.Equal(["a", "b"], lab.Nodes.Select(n => n.Name));
        Assert.All(lab.Nodes, n => Assert.Equal(("linux", "running"), (n.Kind, n.State)));
        var a = lab.Nodes[0];
        Assert.Contains(a.Interfaces, i => i.Name == "eth1" && i.Peer == "b:eth1" && i.Mac is { Length: 17 });
        Assert.Equal([("a:eth1", "b:eth1", "up")], lab.Links.Select(l => (l.A, l.B!, l.State)));
        Assert.Contains(lab.Events!, e => e.Message == "lab running");

        var ping = await Http.ReadAsync<ExecResponse>(await admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec",
            new ExecRequest("a", ["ping", "-c", "2", "-W", "2", "10.0.0.2"])), 200);
        Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);
        var failing = await Http.ReadAsync<ExecResponse>(await admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec",
            new ExecRequest("a", ["sh", "-c", "echo oops >&2; exit 3"])), 200);
        Assert.Equal((3L, "oops\n"), (failing.ExitCode, failing.Stderr));
        // A second deploy of the same name clashes with the running lab.
        using (var again = LabTestSupport.Upload(LabTestSupport.TinyLab(name)))
        {
            var clash = await Http.ProblemAsync(await admin.PostAsync("/api/v1/labs", again), 409);
            Assert.Contains($"lab '{name}' exists already (running)", clash.GetProperty("detail").GetString());
        }

        await deployed.DestroyAsync();
        await deployed.AssertNoLeftoversAsync();
        var audit = await admin.GetStringAsync($"/api/v1/audit?objectId={lab.Id}");
        Assert.Contains("lab.deploy", audit);
        Assert.Contains("lab.exec", audit);
        Assert.Contains("lab.destroy", audit);
    }

    [Fact]
    public async Task Two_labs_deploy_at_the_same_time_on_one_host_and_a_removal_waits_for_its_deployment()
    {
        LabTestSupport.RequireDocker();
        var admin = S.Admin;
        var (one, two) = (ServerFixture.Unique("p"), ServerFixture.Unique("q"));
        var deployments = await Task.WhenAll(LabTestSupport.DeployAsync(admin, LabTestSupport.TinyLab(one)),
            LabTestSupport.DeployAsync(admin, LabTestSupport.TinyLab(two)));
        await using var first = ServerLab.Of(admin, deployments[0]);
        await using var second = ServerLab.Of(admin, deployments[1]);
        // Queued right behind its deployment, the removal of lab two must not overtake it.
        var removal = await second.StartDestroyAsync();
        var (a, b) = (await first.WaitAsync(), await second.WaitAsync());
        var removed = await LabTestSupport.WaitAsync(admin, removal.Task.Id);
        Assert.True(a.State == "succeeded", $"{a.Error}\n{string.Join('\n', a.Log)}");
        Assert.True(b.State == "succeeded", $"{b.Error}\n{string.Join('\n', b.Log)}");
        Assert.Equal("succeeded", removed.State);
        Assert.True(a.StartedAt < b.FinishedAt && b.StartedAt < a.FinishedAt,
            $"the two deployments ran one after the other: {a.StartedAt:O}-{a.FinishedAt:O} and {b.StartedAt:O}-{b.FinishedAt:O}");
        Assert.True(removed.StartedAt >= b.FinishedAt, $"the removal started at {removed.StartedAt:O}, before its deployment ended at {b.FinishedAt:O}");

        var running = await Http.ReadAsync<LabDto>(await admin.GetAsync($"/api/v1/labs/{one}"), 200);
        Assert.Equal("running", running.State);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await admin.GetAsync($"/api/v1/labs/{two}")).StatusCode);
        await first.DestroyAsync();
        await first.AssertNoLeftoversAsync();
        await second.AssertNoLeftoversAsync();
    }

    [Fact]
    public async Task Validation_errors_come_back_with_file_line_and_column()
    {
        var yaml = """
            name: bad
            topology:
              nodes:
                a:
                  kind: no-such-kind
                b:
                  kind: linux
                  image: ltb/tiny:latest
                  binds: ["../../etc/passwd:/x"]
            """;
        // A student: host paths (the bind outside the topology's folder) are refused too, with their position.
        var student = await S.CreateUserAsync("s");
        using var client = await S.LoginAsync(student.UserName, ServerFixture.UserPassword);
        using var content = LabTestSupport.Upload(yaml, "bad.clab.yml");
        var problem = await Http.ProblemAsync(await client.PostAsync("/api/v1/labs", content), 422);
        var errors = problem.GetProperty("errors").GetProperty("topology").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.True(errors.Count >= 2, string.Join('\n', errors));
        Assert.All(errors, e => Assert.Matches(@"^bad\.clab\.yml:\d+:\d+: error: ", e));
        Assert.Contains(errors, e => e.StartsWith("bad.clab.yml:5:13: error: node 'a' has unknown kind 'no-such-kind'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("bad.clab.yml:9:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Uploaded_paths_may_not_leave_the_lab_folder()
    {
        using var content = LabTestSupport.Upload(LabTestSupport.TinyLab("p"));
        content.Add(new StringContent("x"), "files", "../../etc/evil");
        var problem = await Http.ProblemAsync(await S.Admin.PostAsync("/api/v1/labs", content), 400);
        Assert.Contains("'..'", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_nodes_output_is_read_and_followed_and_a_failed_labs_node_tells_why_it_failed()
    {
        LabTestSupport.RequireDocker();
        var admin = S.Admin;
        var name = ServerFixture.Unique("lg");
        await using (var deployed = await ServerLab.RunAsync(admin, LabTestSupport.TinyLab(name)))
        {
            await LabTestSupport.SayAsync(admin, name, "a", "first-line");
            var logs = await admin.GetAsync($"/api/v1/labs/{name}/nodes/a/logs?tail=5");
            Assert.Equal(System.Net.HttpStatusCode.OK, logs.StatusCode);
            Assert.Contains("first-line\n", await logs.Content.ReadAsStringAsync());
            Assert.DoesNotContain("first-line", await admin.GetStringAsync($"/api/v1/labs/{name}/nodes/b/logs"));
            await LabTestSupport.FollowAsync(admin, name, "a", "followed-line");
            await Http.ProblemAsync(await admin.GetAsync($"/api/v1/labs/{name}/nodes/nosuch/logs"), 404);
            await Http.ProblemAsync(await admin.GetAsync($"/api/v1/labs/{name}/nodes/a/logs?tail=-1"), 400);
            await deployed.DestroyAsync();
        }

        // A node that exits at once fails the lab (kept, to inspect): its output says why.
        var broken = ServerFixture.Unique("lb");
        await using var failed = await ServerLab.StartAsync(admin, $"""
            name: {broken}
            topology:
              nodes:
                a:
                  kind: linux
                  image: ltb/tiny:latest
                  cmd: sh -c "echo cannot-find-my-config; exit 3"
            """);
        Assert.Equal("failed", (await failed.WaitAsync()).State);
        Assert.Contains("cannot-find-my-config", await admin.GetStringAsync($"/api/v1/labs/{broken}/nodes/a/logs"));
        await failed.DestroyAsync();
        await Http.ProblemAsync(await admin.GetAsync($"/api/v1/labs/{broken}/nodes/a/logs"), 404); // a destroyed lab is gone
    }

    [Fact]
    public async Task A_missing_image_fails_the_lab_naming_image_node_and_lab_and_leaves_nothing()
    {
        LabTestSupport.RequireDocker();
        var admin = S.Admin;
        var name = ServerFixture.Unique("m");
        await using var failed = await ServerLab.StartAsync(admin, LabTestSupport.TinyLab(name, "ltb/no-such-image:1"));
        var task = await failed.WaitAsync();
        Assert.Equal("failed", task.State);
        Assert.Contains($"lab '{name}'", task.Error);
        Assert.Contains("'a'", task.Error);
        Assert.Contains("ltb/no-such-image:1", task.Error);
        var lab = await Http.ReadAsync<LabDto>(await admin.GetAsync($"/api/v1/labs/{name}"), 200);
        Assert.Equal(("failed", task.Error), (lab.State, lab.Error));
        await failed.AssertNoLeftoversAsync();
        // A failed lab is redeployed by deploying it again (removal, then deployment).
        var again = await LabTestSupport.DeployAsync(admin, LabTestSupport.TinyLab(name, "ltb/no-such-image:2"));
        var retry = await LabTestSupport.WaitAsync(admin, again.Task.Id);
        Assert.Contains("ltb/no-such-image:2", retry.Error);
        var kinds = (await Http.ReadAsync<Paged<LabTaskDto>>(await admin.GetAsync($"/api/v1/labs/{name}/tasks"), 200)).Items.Select(t => (t.Kind, t.State));
        Assert.Equal([("deployment", "failed"), ("removal", "succeeded"), ("deployment", "failed")], kinds);
        // Failed labs are destroyable.
        await failed.DestroyAsync();
    }
}

public sealed class LabsApiOnSqlite(SqliteServer fixture) : LabsApiTests<SqliteServer>(fixture);

public sealed class LabsApiOnPostgres(PostgresServer fixture) : LabsApiTests<PostgresServer>(fixture);

/// <summary>
/// A server restart reconciles: a deployment cut off by the restart (simulated: its task left Running) is retried and
/// converges (the lab ends running, exactly as planned); a lab on the host that the store does not know (an orphan) is
/// removed; a running lab the host lost is failed.
/// </summary>
public sealed class LabReconcileTests
{
    [Fact]
    public async Task A_restart_retries_cut_off_deployments_and_removes_orphans()
    {
        LabTestSupport.RequireDocker();
        await using var database = new SqliteTestDatabase();
        var options = Options(database);
        string kept, orphan;
        Guid keptId, keptTask, ghost;
        await using (var first = await LtbServer.StartAsync(options))
        {
            using var admin = await LoginAsync(first);
            var a = await LabTestSupport.DeployAsync(admin, LabTestSupport.TinyLab(ServerFixture.Unique("r")));
            var b = await LabTestSupport.DeployAsync(admin, LabTestSupport.TinyLab(ServerFixture.Unique("o")));
            Assert.Equal("succeeded", (await LabTestSupport.WaitAsync(admin, a.Task.Id)).State);
            Assert.Equal("succeeded", (await LabTestSupport.WaitAsync(admin, b.Task.Id)).State);
            (kept, keptId, keptTask, orphan) = (a.Lab.RuntimeName, a.Lab.Id, a.Task.Id, b.Lab.RuntimeName);

            // What a kill -9 in the middle of the deployment leaves: the task Running, the lab Deploying; and a lab
            // the host holds without a row in the store.
            await using var scope = first.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
            var task = await db.LabTasks.SingleAsync(t => t.Id == a.Task.Id);
            task.State = LabTaskState.Running;
            (await db.Labs.SingleAsync(l => l.Id == keptId)).State = LabLifecycle.Deploying;
            db.Labs.Remove(await db.Labs.SingleAsync(l => l.Id == b.Lab.Id));
            // And a running lab whose host lost it.
            var ghostId = Guid.NewGuid();
            var ghostLab = new Lab
            {
                Id = ghostId, Name = ServerFixture.Unique("g"), RuntimeName = LabNames.Runtime("g", ghostId), OwnerId = (await db.Users.SingleAsync(u => u.UserName == "admin")).Id,
                HostId = task.HostId, State = LabLifecycle.Running, CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow,
            };
            ghost = ghostId;
            db.Labs.Add(ghostLab);
            await db.SaveChangesAsync();
        }
        Assert.NotEqual(0, await LabTestSupport.LeftoversAsync(orphan));

        await using var second = await LtbServer.StartAsync(options);
        using var client = await LoginAsync(second);
        Assert.Equal(0, await LabTestSupport.LeftoversAsync(orphan));
        var retried = await LabTestSupport.WaitAsync(client, keptTask);
        Assert.Equal("succeeded", retried.State);
        Assert.Equal(2, retried.Attempts);
        Assert.Contains(retried.Log, l => l.Contains(LabReconciler.RestartReason, StringComparison.Ordinal));
        var lab = await Http.ReadAsync<LabDto>(await client.GetAsync($"/api/v1/labs/{keptId}"), 200);
        Assert.Equal("running", lab.State);
        Assert.Equal(2, await LabTestSupport.ContainersAsync(kept)); // no duplicate of what the cut-off attempt made
        var lost = await Http.ReadAsync<LabDto>(await client.GetAsync($"/api/v1/labs/{ghost}"), 200);
        Assert.Equal("failed", lost.State);
        Assert.Contains("holds nothing of it", lost.Error);
        var tasks = await Http.ReadAsync<Paged<LabTaskDto>>(await client.GetAsync($"/api/v1/labs/{keptId}/tasks"), 200);
        Assert.DoesNotContain(tasks.Items, t => t.State == "interrupted");

        var removal = await Http.ReadAsync<LabTaskAccepted>(await client.DeleteAsync($"/api/v1/labs/{keptId}"), 202);
        Assert.Equal("succeeded", (await LabTestSupport.WaitAsync(client, removal.Task.Id)).State);
        Assert.Equal(0, await LabTestSupport.LeftoversAsync(kept));
    }

    private static LtbServerOptions Options(SqliteTestDatabase database)
    {
        var options = new LtbServerOptions
        {
            DataDirectory = database.DataDirectory,
            Database = database.Provider,
            ConnectionString = database.ConnectionString,
            AdminPassword = ServerFixture.AdminPassword,
        };
        options.Urls.Clear();
        options.Urls.Add("http://127.0.0.1:0");
        return options;
    }

    private static async Task<HttpClient> LoginAsync(LtbServer server)
    {
        var client = new HttpClient { BaseAddress = new Uri(server.Urls[0]) };
        var login = await Http.ReadAsync<LoginResponse>(
            await client.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest("admin", ServerFixture.AdminPassword)), 200);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.Token);
        return client;
    }
}
