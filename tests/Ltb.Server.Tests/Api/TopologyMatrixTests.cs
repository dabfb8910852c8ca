using System.Net.Http.Json;
using System.Text.Json;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;
using Ltb.Topology.Policy;

namespace Ltb.Server.Tests.Api;

/// <summary>
/// The cast of the topology matrix: a student, an instructor, and a node type of the admin's (NET_ADMIN and NET_RAW
/// only, image ltb/tiny) that every caller may use, so that each topology differs from an allowed one by one setting.
/// </summary>
public abstract class TopologyMatrixServer : ServerFixture
{
    public HttpClient Student { get; private set; } = null!;
    public HttpClient Instructor { get; private set; } = null!;
    public string Kind { get; } = Unique("pc");

    /// <summary>Host ports of its own (a student's, inside the policy's range; an admin's, outside it): the SQLite and
    /// PostgreSQL classes run side by side.</summary>
    public abstract int PublishedPort { get; }

    public abstract int AdminPort { get; }

    protected override async Task SeedAsync()
    {
        Student = await LoginAsync((await CreateUserAsync("st")).UserName, UserPassword);
        Instructor = await LoginAsync((await CreateUserAsync("in", "instructor")).UserName, UserPassword);
        await Http.EnsureAsync(await Admin.PostAsJsonAsync("/api/v1/node-types", new CreateNodeTypeRequest(Templates.TemplateTestSupport.HostType(Kind))),
            201, "create the matrix's node type");
    }

    protected override ValueTask DisposeExtrasAsync()
    {
        Student?.Dispose();
        Instructor?.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class SqliteTopologyMatrixServer : TopologyMatrixServer
{
    public override int PublishedPort => 30150;

    public override int AdminPort => 30299;

    protected override Task<(TestDatabase?, string?)> CreateDatabaseAsync() =>
        Task.FromResult<(TestDatabase?, string?)>((new SqliteTestDatabase(), null));
}

public sealed class PostgresTopologyMatrixServer : TopologyMatrixServer
{
    public override int PublishedPort => 30151;

    public override int AdminPort => 30298;

    protected override async Task<(TestDatabase?, string?)> CreateDatabaseAsync() => await PostgresTestDatabase.CreateAsync();
}

/// <summary>
/// Issue #10's topology matrix, beside the endpoint matrix: every setting that reaches the lab host x {student,
/// instructor, admin}, through the real API. Students (deploying) and instructors (pushing a template) get a 422 whose
/// diagnostic sits at the setting as written and says it needs an administrator, and nothing is created; the admin's
/// upload of the same topology is accepted, and what this host can run is deployed for real and destroyed.
/// </summary>
public abstract class TopologyMatrixTests<TServer>(TServer fixture) : IClassFixture<TServer>
    where TServer : TopologyMatrixServer
{
    private TServer S
    {
        get
        {
            fixture.Require();
            return fixture;
        }
    }

    /// <summary>One restricted setting: a line of node a (or a link), the text its diagnostic points at, what the message says.</summary>
    public sealed record Case(string Setting, string? NodeLine, string? LinkLine, string Marker, string Says);

    public static readonly TheoryData<string> Settings = new(Cases.Select(c => c.Setting));

    private static IEnumerable<Case> Cases =>
    [
        new("cap-add", "cap-add: [NET_ADMIN, SYS_ADMIN]", null, "SYS_ADMIN", "node 'a': capability SYS_ADMIN needs an administrator"),
        new("network-mode host", "network-mode: host", null, "host", "node 'a': network-mode 'host' needs an administrator"),
        new("network-mode bridge", "network-mode: bridge", null, "bridge", "node 'a': network-mode 'bridge' needs an administrator"),
        new("network-mode container outside the lab", "network-mode: container:elsewhere", null, "container:elsewhere",
            "node 'a': network-mode 'container:elsewhere' names 'elsewhere', which is not a node of this lab"),
        new("host link", null, "- endpoints: [\"a:eth2\", \"host:ltbmx0\"]", "\"host:", "link 2: a host link needs an administrator"),
        new("mgmt-net link", null, "- endpoints: [\"a:eth2\", \"mgmt-net:ltbmx1\"]", "\"mgmt-net:", "link 2: a mgmt-net link needs an administrator"),
        new("macvlan link", null, "- endpoints: [\"a:eth2\", \"macvlan:eth0\"]", "\"macvlan:", "link 2: a macvlan link needs an administrator"),
        new("vxlan link", null, "- {type: vxlan, endpoint: {node: a, interface: eth2}, remote: 192.0.2.1, vni: 4242}", "vxlan",
            "link 2: a vxlan link needs an administrator"),
        new("vxlan-stitch link", null, "- {type: vxlan-stitch, endpoint: {node: a, interface: eth2}, remote: 192.0.2.1, vni: 4243}",
            "vxlan-stitch", "link 2: a vxlan-stitch link needs an administrator"),
        new("dummy link", null, "- {type: dummy, endpoint: {node: a, interface: eth2}}", "dummy", "link 2: a dummy link needs an administrator"),
        new("port", "ports: [\"30080:80\"]", null, "\"30080", "node 'a': port '30080:80' needs an administrator"),
        new("devices", "devices: [/dev/net/tun]", null, "[/dev", "node 'a': 'devices' needs an administrator"),
        new("image", "image: ltb/not-on-any-host:1", null, "ltb/not-on", "node 'a': image 'ltb/not-on-any-host:1' needs an administrator"),
        new("bind of a host path", "binds: [\"/etc/hostname:/host-hostname:ro\"]", null, "\"/etc",
            "bind source '/etc/hostname' of node 'a' is a host path, which needs an administrator"),
    ];

    /// <summary>Two nodes of the matrix's type on one link, plus the case's line; the marker's line and column.</summary>
    private string Topology(string name, Case c, out int line, out int column, string? kind = null)
    {
        kind ??= S.Kind;
        var lines = new List<string> { $"name: {name}", "topology:", "  nodes:", "    a:", $"      kind: {kind}" };
        if (c.NodeLine is not null)
        {
            lines.Add("      " + c.NodeLine);
        }
        lines.AddRange(["    b:", $"      kind: {kind}", "  links:", "    - endpoints: [\"a:eth1\", \"b:eth1\"]"]);
        if (c.LinkLine is not null)
        {
            lines.Add("    " + c.LinkLine);
        }
        var at = lines.FindIndex(l => l.StartsWith("      " + c.NodeLine, StringComparison.Ordinal) && c.NodeLine is not null
            || c.LinkLine is not null && l == "    " + c.LinkLine);
        line = at + 1;
        column = lines[at].IndexOf(c.Marker, lines[at].IndexOf(c.NodeLine ?? c.LinkLine!, StringComparison.Ordinal), StringComparison.Ordinal) + 1;
        return string.Join('\n', lines) + "\n";
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public async Task A_setting_that_reaches_the_host_is_refused_to_students_and_instructors_and_accepted_for_admins(string setting)
    {
        var c = Cases.Single(x => x.Setting == setting);
        var name = ServerFixture.Unique("tm");
        var yaml = Topology(name, c, out var line, out var column);

        // A student deploying it: 422 at the setting, and no lab.
        using (var upload = LabTestSupport.Upload(yaml))
        {
            await RefusedAsync(await S.Student.PostAsync("/api/v1/labs", upload), line, column, c.Says);
        }
        var labs = await Http.ReadAsync<JsonElement>(await S.Student.GetAsync("/api/v1/labs?pageSize=200"), 200);
        Assert.DoesNotContain(labs.GetProperty("items").EnumerateArray(), l => l.GetProperty("name").GetString() == name);

        // An instructor pushing it as a template: the same refusal.
        using (var template = Templates.TemplateTestSupport.Upload(yaml, name: name))
        {
            await RefusedAsync(await S.Instructor.PostAsync("/api/v1/templates", template), line, column, c.Says);
        }

        // The admin: accepted (stored as a template: validated, nothing deployed; the deployable ones run below).
        using var accepted = Templates.TemplateTestSupport.Upload(yaml, name: name);
        await Http.EnsureAsync(await S.Admin.PostAsync("/api/v1/templates", accepted), 201, $"admin's upload with {setting}");
    }

    private static async Task RefusedAsync(HttpResponseMessage response, int line, int column, string says)
    {
        var problem = await Http.ProblemAsync(response, 422);
        var at = $"lab.clab.yml:{line}:{column}: error: {says}";
        var errors = problem.GetProperty("errors").GetProperty("topology").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.True(errors.Any(e => e.StartsWith(at, StringComparison.Ordinal)), $"expected '{at}' in:\n{string.Join('\n', errors)}");
        Assert.Contains(errors, e => e.Contains("needs an administrator", StringComparison.Ordinal));
        // Messages to non-admins never name the server's folders.
        Assert.DoesNotContain(errors, e => e.Contains("/labs/", StringComparison.Ordinal) || e.Contains("/uploads/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_admins_lab_with_host_settings_deploys_for_real_and_destroy_leaves_nothing()
    {
        LabTestSupport.RequireDocker();
        var name = ServerFixture.Unique("tma");
        var hostSide = "ltbm" + Guid.NewGuid().ToString("N")[..6];
        // The built-in linux kind: the local host runs the catalog's container kinds (types added at run time are placed
        // on hosts that report them).
        var yaml = $"""
            name: {name}
            topology:
              nodes:
                a:
                  kind: linux
                  image: ltb/tiny:latest
                  cap-add: [SYS_ADMIN]
                  binds: ["/etc/hostname:/host-hostname:ro"]
                  ports: ["127.0.0.1:{S.AdminPort}:80"]
                h:
                  kind: linux
                  image: ltb/tiny:latest
                  network-mode: host
              links:
                - endpoints: ["a:eth1", "host:{hostSide}"]
            """;
        await using var deployed = await ServerLab.RunAsync(S.Admin, yaml);
        await CheckAdminLabAsync(name, deployed.RuntimeName, hostSide);
        await deployed.DestroyAsync();
        await deployed.AssertNoLeftoversAsync();
        Assert.False((await HostCommand.RunAsync("ip", "link", "show", hostSide)).ExitCode == 0, $"{hostSide} is left on the host");
    }

    private async Task CheckAdminLabAsync(string name, string runtime, string hostSide)
    {
        var read = await Http.ReadAsync<ExecResponse>(await S.Admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec",
            new ExecRequest("a", ["sh", "-c", "cat /host-hostname; grep CapEff /proc/self/status"])), 200);
        Assert.StartsWith((await File.ReadAllTextAsync("/etc/hostname", TestContext.Current.CancellationToken)).Trim(), read.Stdout, StringComparison.Ordinal);
        // CAP_SYS_ADMIN is bit 21 of the effective set.
        var capEff = Convert.ToUInt64(read.Stdout.Split("CapEff:")[1].Trim(), 16);
        Assert.NotEqual(0UL, capEff & (1UL << 21));
        Assert.Contains(hostSide, (await HostCommand.RunAsync("ip", "-o", "link", "show", hostSide)).Stdout, StringComparison.Ordinal);
        // The host-network node sees the host's interfaces (the host link's end among them).
        var links = await Http.ReadAsync<ExecResponse>(await S.Admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec",
            new ExecRequest("h", ["cat", "/proc/net/dev"])), 200);
        Assert.Contains(hostSide, links.Stdout, StringComparison.Ordinal);
        Assert.Equal([("127.0.0.1", S.AdminPort.ToString(System.Globalization.CultureInfo.InvariantCulture))], await PortBindingsAsync(runtime, "a"));
    }

    /// <summary>The host address and port each published port of a node's container is bound to, as the engine has them.</summary>
    private static async Task<List<(string, string)>> PortBindingsAsync(string runtimeName, string node)
    {
        using var engine = Ltb.Runtime.Docker.DockerEngine.Connect();
        var container = await engine.Client.Containers.InspectContainerAsync($"ltb-{runtimeName}-{node}");
        var bindings = container.HostConfig?.PortBindings ?? new Dictionary<string, IList<Docker.DotNet.Models.PortBinding>>();
        return [.. bindings.SelectMany(p => p.Value ?? []).Select(b => (b.HostIP, b.HostPort))];
    }

    [Fact]
    public async Task A_students_deployment_of_an_admins_template_is_checked_with_the_students_rights()
    {
        var name = ServerFixture.Unique("tmt");
        var c = Cases.Single(x => x.Setting == "host link");
        var yaml = Topology(name, c, out var line, out var column);
        using var upload = Templates.TemplateTestSupport.Upload(yaml, name: name, visibility: "everyone");
        var template = await Http.ReadAsync<TemplateDto>(await S.Admin.PostAsync("/api/v1/templates", upload), 201);
        using var deploy = new MultipartFormDataContent { { new StringContent(template.Id.ToString()), "template" } };
        await RefusedAsync(await S.Student.PostAsync("/api/v1/labs", deploy), line, column, c.Says);
    }

    [Fact]
    public async Task A_policy_change_through_the_api_takes_effect_for_the_next_upload()
    {
        LabTestSupport.RequireDocker();
        // SYS_ADMIN too: the student deploys the built-in linux kind (which the local host runs), whose catalog entry still
        // grants it until the catalog drops it (issue #10, the containment change); the subject here is the port range.
        var policy = TenantPolicy.Default with
        {
            Ports = new PortPolicy { Allowed = true, First = 30100, Last = 30199, Address = "127.0.0.1" },
            Capabilities = new HashSet<string>(TenantPolicy.DefaultCapabilities.Append("SYS_ADMIN"), StringComparer.Ordinal),
        };
        await PutPolicyAsync(policy);
        try
        {
            // Everyone signed in reads what is allowed.
            var read = await Http.ReadAsync<JsonElement>(await S.Student.GetAsync("/api/v1/policy"), 200);
            Assert.True(read.GetProperty("ports").GetProperty("allowed").GetBoolean());

            var outside = Cases.Single(x => x.Setting == "port") with { NodeLine = "ports: [\"30250:80\"]", Marker = "\"30250" };
            var refusedYaml = Topology(ServerFixture.Unique("tmp"), outside, out var line, out var column);
            using (var refused = LabTestSupport.Upload(refusedYaml))
            {
                await RefusedAsync(await S.Student.PostAsync("/api/v1/labs", refused), line, column,
                    "node 'a': host port 30250 of port '30250:80' needs an administrator; allowed: 30100-30199");
            }

            var name = ServerFixture.Unique("tmp");
            var inside = outside with { NodeLine = $"ports: [\"{S.PublishedPort}:80\"]" };
            await using var deployed = await ServerLab.RunAsync(S.Student, Topology(name, inside, out _, out _, "linux")
                .Replace("kind: linux", "kind: linux\n      image: ltb/tiny:latest", StringComparison.Ordinal));
            // Published on the policy's address only (written without one).
            Assert.Equal([("127.0.0.1", S.PublishedPort.ToString(System.Globalization.CultureInfo.InvariantCulture))], await PortBindingsAsync(deployed.RuntimeName, "a"));
            await deployed.DestroyAsync();
            await deployed.AssertNoLeftoversAsync();
        }
        finally
        {
            await PutPolicyAsync(TenantPolicy.Default);
        }
    }

    [Fact]
    public async Task Only_a_sane_policy_is_stored_and_each_change_is_audited()
    {
        using var bad = new StringContent("""{"ports": {"allowed": true, "first": 40000, "last": 30000}}""", System.Text.Encoding.UTF8, "application/json");
        var problem = await Http.ProblemAsync(await S.Admin.PutAsync("/api/v1/policy", bad), 400);
        Assert.Contains("first (40000) and last (30000)", problem.GetRawText(), StringComparison.Ordinal);
        using var unknown = new StringContent("""{"portz": {}}""", System.Text.Encoding.UTF8, "application/json");
        await Http.ProblemAsync(await S.Admin.PutAsync("/api/v1/policy", unknown), 400);

        var before = await S.Admin.GetAsync("/api/v1/policy");
        await PutPolicyAsync(TenantPolicy.Default with { Images = ["registry.school.example/*"] });
        // A writer holding the old ETag loses.
        using var stale = new HttpRequestMessage(HttpMethod.Put, "/api/v1/policy")
        {
            Content = new StringContent(TenantPolicyFile.ToJson(TenantPolicy.Default), System.Text.Encoding.UTF8, "application/json"),
        };
        stale.Headers.IfMatch.Add(before.Headers.ETag!);
        await Http.ProblemAsync(await S.Admin.SendAsync(stale), 412);
        var audit = await Http.ReadAsync<JsonElement>(await S.Admin.GetAsync("/api/v1/audit?objectType=policy&pageSize=200"), 200);
        Assert.Contains(audit.GetProperty("items").EnumerateArray(), e => e.GetProperty("objectType").GetString() == "policy"
            && e.GetProperty("detail").GetString()!.Contains("registry.school.example/*", StringComparison.Ordinal));
        await PutPolicyAsync(TenantPolicy.Default);
    }

    private async Task PutPolicyAsync(TenantPolicy policy)
    {
        using var body = new StringContent(TenantPolicyFile.ToJson(policy), System.Text.Encoding.UTF8, "application/json");
        await Http.EnsureAsync(await S.Admin.PutAsync("/api/v1/policy", body), 200, "PUT /api/v1/policy");
    }
}

public sealed class TopologyMatrixOnSqlite(SqliteTopologyMatrixServer fixture) : TopologyMatrixTests<SqliteTopologyMatrixServer>(fixture);

public sealed class TopologyMatrixOnPostgres(PostgresTopologyMatrixServer fixture) : TopologyMatrixTests<PostgresTopologyMatrixServer>(fixture);
