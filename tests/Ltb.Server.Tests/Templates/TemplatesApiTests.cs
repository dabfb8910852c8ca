using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;

namespace Ltb.Server.Tests.Templates;

/// <summary>The template store and the device catalog through the API, on SQLite and PostgreSQL.</summary>
public abstract class TemplatesApiTests<TServer>(TServer fixture) : IClassFixture<TServer>
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

    private async Task<(UserDto User, HttpClient Client)> InstructorAsync()
    {
        var user = await S.CreateUserAsync("teach", "instructor");
        return (user, await S.LoginAsync(user.UserName, ServerFixture.UserPassword));
    }

    [Fact]
    public async Task The_YAML_comes_back_byte_for_byte_and_every_version_stays_readable()
    {
        var (_, teacher) = await InstructorAsync();
        var name = ServerFixture.Unique("rt");
        // CRLF line ends, a byte order mark, comments, odd spacing and non-ASCII text: all kept as uploaded.
        var first = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(
            TemplateTestSupport.SmallLab(name).Replace("\n", "\r\n") + "\r\n# Grüße  \r\n")).ToArray();
        var config = Encoding.UTF8.GetBytes("hostname a\n");
        using var upload = TemplateTestSupport.Upload(first, "small.clab.yml", description: "a small lab", tags: ["Demo", "frr,ospf"],
            files: new Dictionary<string, byte[]> { ["configs/a.cfg"] = config });
        var response = await teacher.PostAsync("/api/v1/templates", upload);
        var created = await Http.ReadAsync<TemplateDto>(response, 201);
        Assert.Equal($"/api/v1/templates/{created.Id}", response.Headers.Location?.ToString());
        Assert.Equal($"\"{created.Version}\"", response.Headers.ETag?.Tag);
        Assert.Equal((name, "private", 1, "containerlab"), (created.Name, created.Visibility, created.CurrentVersion, created.Format));
        Assert.Equal(["demo", "frr", "ospf"], created.Tags);
        Assert.Equal([new TemplateFileDto("configs/a.cfg", config.Length)], created.Current!.Files);

        var source = await teacher.GetAsync($"/api/v1/templates/{created.Id}/versions/1/source");
        await Http.EnsureAsync(source, 200, "source");
        Assert.Equal("application/yaml", source.Content.Headers.ContentType?.MediaType);
        Assert.Equal(first, await source.Content.ReadAsByteArrayAsync());
        var v1 = await Http.ReadAsync<TemplateVersionDto>(await teacher.GetAsync($"/api/v1/templates/{created.Id}/versions/1"), 200);
        Assert.Equal(Encoding.UTF8.GetString(first.AsSpan(3)), v1.Yaml);
        Assert.Equal(name, v1.Model.GetProperty("name").GetString());
        Assert.Equal(["a", "b"], v1.Model.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("name").GetString()));
        // The model does not carry the server's folders.
        Assert.DoesNotContain("/uploads/", v1.Model.GetRawText());

        // A second upload is version 2; version 1 stays as it was.
        var second = TemplateTestSupport.SmallLab(name).Replace("b:", "c:").Replace("b:eth1", "c:eth1");
        using var upload2 = TemplateTestSupport.Upload(second, "small.clab.yml");
        var added = await teacher.PostAsync($"/api/v1/templates/{created.Id}/versions", upload2);
        var v2 = await Http.ReadAsync<TemplateVersionDto>(added, 201);
        Assert.Equal(2, v2.Number);
        Assert.Equal(second, v2.Yaml);
        Assert.Empty(v2.Files);
        var versions = await Http.ReadAsync<Paged<TemplateVersionSummaryDto>>(await teacher.GetAsync($"/api/v1/templates/{created.Id}/versions"), 200);
        Assert.Equal([2, 1], versions.Items.Select(v => v.Number));
        Assert.Equal(first, await teacher.GetByteArrayAsync($"/api/v1/templates/{created.Id}/versions/1/source"));
        var current = await teacher.GetAsync($"/api/v1/templates/{created.Id}");
        var template = await Http.ReadAsync<TemplateDto>(current, 200);
        Assert.Equal((2, 2), (template.CurrentVersion, template.Current!.Number));
        Assert.Equal($"\"{template.Version}\"", current.Headers.ETag?.Tag);
        await Http.ProblemAsync(await teacher.GetAsync($"/api/v1/templates/{created.Id}/versions/3"), 404);

        // Metadata: If-Match against lost updates, tags replaced, filters find it.
        using var stale = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/templates/{created.Id}")
        {
            Content = JsonContent.Create(new UpdateTemplateRequest(Description: "stale")),
        };
        stale.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{created.Version}\""));
        await Http.ProblemAsync(await teacher.SendAsync(stale), 412);
        using var patch = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/templates/{created.Id}")
        {
            Content = JsonContent.Create(new UpdateTemplateRequest(Description: "OSPF between two routers", Tags: ["ospf", "routing"])),
        };
        patch.Headers.IfMatch.Add(new EntityTagHeaderValue($"\"{template.Version}\""));
        var patched = await Http.ReadAsync<TemplateDto>(await teacher.SendAsync(patch), 200);
        Assert.Equal(["ospf", "routing"], patched.Tags);
        Assert.Equal(template.Version + 1, patched.Version);
        foreach (var filter in new[] { "tag=routing", $"q={name.ToUpperInvariant()}", "q=between two", $"name={name}", "visibility=private" })
        {
            var found = await Http.ReadAsync<Paged<TemplateDto>>(await teacher.GetAsync($"/api/v1/templates?{filter}&pageSize=200"), 200);
            Assert.True(found.Items.Any(t => t.Id == created.Id), filter);
        }
        var byOwner = await Http.ReadAsync<Paged<TemplateDto>>(await S.Admin.GetAsync($"/api/v1/templates?owner={template.Owner}"), 200);
        Assert.Equal([created.Id], byOwner.Items.Select(t => t.Id));
        var none = await Http.ReadAsync<Paged<TemplateDto>>(await teacher.GetAsync($"/api/v1/templates?tag=demo&name={name}"), 200);
        Assert.Empty(none.Items);
        await Http.ProblemAsync(await teacher.GetAsync("/api/v1/templates?visibility=secret"), 400);

        await Http.EnsureAsync(await teacher.DeleteAsync($"/api/v1/templates/{created.Id}"), 204, "delete");
        await Http.ProblemAsync(await teacher.GetAsync($"/api/v1/templates/{created.Id}/versions/1"), 404);
    }

    [Fact]
    public async Task An_invalid_topology_is_refused_with_every_diagnostic_positioned()
    {
        var (_, teacher) = await InstructorAsync();
        const string bad = """
            name: broken
            topology:
              nodes:
                r1: {kind: linuxx, image: "ltb/tiny:latest"}
                r2: {kind: linux}
                r3: {kind: linux, image: "ltb/tiny:latest", startup-delay: 3}
              links:
                - endpoints: ["r3:eth1", "r9:eth1"]
            """;
        using var upload = TemplateTestSupport.Upload(bad, "broken.clab.yml");
        var problem = await Http.ProblemAsync(await teacher.PostAsync("/api/v1/templates", upload), 422);
        var diagnostics = problem.GetProperty("diagnostics").EnumerateArray().ToList();
        var errors = diagnostics.Where(d => d.GetProperty("severity").GetString() == "error").ToList();
        Assert.True(errors.Count >= 3, problem.GetRawText());
        Assert.All(diagnostics, d =>
        {
            Assert.Equal("broken.clab.yml", d.GetProperty("file").GetString());
            Assert.True(d.GetProperty("line").GetInt32() > 0 && d.GetProperty("column").GetInt32() > 0);
            Assert.False(string.IsNullOrEmpty(d.GetProperty("message").GetString()));
        });
        (int Line, int Column) At(string contains)
        {
            var d = diagnostics.First(x => x.GetProperty("message").GetString()!.Contains(contains, StringComparison.Ordinal));
            return (d.GetProperty("line").GetInt32(), d.GetProperty("column").GetInt32());
        }
        Assert.Equal(Position(bad, "linuxx"), At("linuxx"));
        Assert.Equal(Position(bad, "r2:"), At("'r2' has no image"));
        Assert.Equal(Position(bad, "r9").Line, At("r9").Line);
        // The warning comes along, marked as one.
        var warning = diagnostics.Single(d => d.GetProperty("severity").GetString() == "warning");
        Assert.Equal(Position(bad, "startup-delay"), (warning.GetProperty("line").GetInt32(), warning.GetProperty("column").GetInt32()));
        // The same lines as text, for the command line.
        Assert.Equal(diagnostics.Count, problem.GetProperty("errors").GetProperty("topology").GetArrayLength());
        var (line, column) = Position(bad, "linuxx");
        Assert.StartsWith($"broken.clab.yml:{line}:{column}: error:", problem.GetProperty("errors").GetProperty("topology")[0].GetString());

        // A valid upload still reports its warnings.
        var ok = bad.Replace("linuxx", "linux").Replace("r2: {kind: linux}", "r2: {kind: linux, image: \"ltb/tiny:latest\"}").Replace("r9", "r1");
        var created = await TemplateTestSupport.CreateAsync(teacher, ok, ServerFixture.Unique("warn"));
        var only = Assert.Single(created.Current!.Warnings);
        Assert.Equal(("warning", 6), (only.Severity, only.Line));
    }

    /// <summary>Line and column (from 1) of the first occurrence of <paramref name="text"/>.</summary>
    private static (int Line, int Column) Position(string yaml, string text)
    {
        var lines = yaml.Split('\n');
        var index = Array.FindIndex(lines, l => l.Contains(text, StringComparison.Ordinal));
        return (index + 1, lines[index].IndexOf(text, StringComparison.Ordinal) + 1);
    }

    [Fact]
    public async Task Students_read_what_is_shared_with_them_and_create_nothing()
    {
        var (owner, teacher) = await InstructorAsync();
        var (_, otherTeacher) = await InstructorAsync();
        var inGroup = await S.CreateUserAsync("s");
        var outside = await S.CreateUserAsync("s");
        var group = await S.CreateGroupAsync("course", owner.Id, inGroup.Id);
        var yaml = TemplateTestSupport.SmallLab("vis");
        var priv = await TemplateTestSupport.CreateAsync(teacher, yaml, ServerFixture.Unique("priv"));
        var shared = await TemplateTestSupport.CreateAsync(teacher, yaml, ServerFixture.Unique("grp"), "group", group.Id);
        var open = await TemplateTestSupport.CreateAsync(teacher, yaml, ServerFixture.Unique("all"), "everyone");

        using var member = await S.LoginAsync(inGroup.UserName, ServerFixture.UserPassword);
        using var stranger = await S.LoginAsync(outside.UserName, ServerFixture.UserPassword);
        async Task<Guid[]> Seen(HttpClient c) =>
            [.. (await Http.ReadAsync<Paged<TemplateDto>>(await c.GetAsync($"/api/v1/templates?owner={owner.UserName}"), 200)).Items.Select(t => t.Id)];
        Assert.Equal(new[] { shared.Id, open.Id }.Order(), (await Seen(member)).Order());
        Assert.Equal([open.Id], await Seen(stranger));
        Assert.Equal([open.Id], await Seen(otherTeacher));
        Assert.Equal(3, (await Seen(S.Admin)).Length);
        await Http.ProblemAsync(await member.GetAsync($"/api/v1/templates/{priv.Id}"), 404);
        await Http.ProblemAsync(await stranger.GetAsync($"/api/v1/templates/{shared.Id}/versions/1/source"), 404);
        await Http.EnsureAsync(await stranger.GetAsync($"/api/v1/templates/{open.Id}/versions/1/source"), 200, "everyone's");

        // Reading is not changing; and students create no templates.
        await Http.ProblemAsync(await member.PatchAsJsonAsync($"/api/v1/templates/{open.Id}", new UpdateTemplateRequest(Description: "x")), 403);
        await Http.ProblemAsync(await otherTeacher.DeleteAsync($"/api/v1/templates/{open.Id}"), 403);
        using var upload = TemplateTestSupport.Upload(yaml);
        await Http.ProblemAsync(await member.PostAsync("/api/v1/templates", upload), 403);
        // Sharing needs a group one is a member of.
        using var foreign = TemplateTestSupport.Upload(yaml, name: ServerFixture.Unique("f"), visibility: "group", groupId: group.Id);
        var refused = await Http.ProblemAsync(await otherTeacher.PostAsync("/api/v1/templates", foreign), 400);
        Assert.True(refused.GetProperty("errors").TryGetProperty("groupId", out _));
        // Made private, the shared template disappears for the group.
        await Http.EnsureAsync(await teacher.PatchAsJsonAsync($"/api/v1/templates/{shared.Id}", new UpdateTemplateRequest(Visibility: "private")), 200, "private");
        Assert.Equal([open.Id], await Seen(member));
    }

    [Fact]
    public async Task The_demo_template_is_there_for_everyone()
    {
        var student = await S.CreateUserAsync("s");
        using var client = await S.LoginAsync(student.UserName, ServerFixture.UserPassword);
        var demo = Assert.Single((await Http.ReadAsync<Paged<TemplateDto>>(await client.GetAsync("/api/v1/templates?owner=admin&tag=demo"), 200)).Items);
        Assert.Equal(("ospf-demo", "everyone"), (demo.Name, demo.Visibility));
        var version = await Http.ReadAsync<TemplateVersionDto>(await client.GetAsync($"/api/v1/templates/{demo.Id}/versions/1"), 200);
        Assert.Equal(["r1/daemons", "r1/frr.conf", "r2/daemons", "r2/frr.conf"], version.Files.Select(f => f.Path));
        Assert.Equal(File.ReadAllText(Path.Combine(Ltb.Testing.Repo.Root, "examples", "ospf-demo", "ospf-demo.clab.yml")), version.Yaml);
        Assert.Empty(version.Warnings);
    }

    [Fact]
    public async Task Everyone_reads_the_catalog_and_admins_add_change_and_retire_types()
    {
        var student = await S.CreateUserAsync("s");
        using var client = await S.LoginAsync(student.UserName, ServerFixture.UserPassword);
        var catalog = await Http.ReadAsync<Paged<NodeTypeDto>>(await client.GetAsync("/api/v1/node-types?pageSize=200"), 200);
        var linux = Assert.Single(catalog.Items, t => t.Name == "linux");
        Assert.Equal(("built-in", false, 0L), (linux.Origin, linux.Retired, linux.Version));
        Assert.Contains("name: linux", linux.Definition);
        var srl = await Http.ReadAsync<NodeTypeDto>(await client.GetAsync("/api/v1/node-types/srl"), 200);
        Assert.Equal("nokia_srlinux", srl.Name);

        // A new type is validated like the built-in ones: every problem, positioned.
        var broken = await Http.ProblemAsync(await S.Admin.PostAsJsonAsync("/api/v1/node-types",
            new CreateNodeTypeRequest("name: x\nruntime: rocket\ncolour: red\n")), 422);
        var diagnostics = broken.GetProperty("diagnostics").EnumerateArray().ToList();
        Assert.True(diagnostics.Count >= 2, broken.GetRawText());
        Assert.Contains(diagnostics, d => d.GetProperty("line").GetInt32() == 3 && d.GetProperty("message").GetString()!.Contains("colour"));
        Assert.All(diagnostics, d => Assert.Equal("node-type.yaml", d.GetProperty("file").GetString()));
        await Http.ProblemAsync(await S.Admin.PostAsJsonAsync("/api/v1/node-types", new CreateNodeTypeRequest(TemplateTestSupport.HostType("linux"))), 409);
        await Http.ProblemAsync(await client.PostAsJsonAsync("/api/v1/node-types", new CreateNodeTypeRequest(TemplateTestSupport.HostType("mine"))), 403);

        var name = ServerFixture.Unique("host");
        var created = await S.Admin.PostAsJsonAsync("/api/v1/node-types", new CreateNodeTypeRequest(TemplateTestSupport.HostType(name)));
        var type = await Http.ReadAsync<NodeTypeDto>(created, 201);
        Assert.Equal(("custom", 1L, "ltb/tiny:latest"), (type.Origin, type.Version, type.Image));

        // A template using it is accepted, then the type retires: readable, marked, and refused with a position.
        var (_, teacher) = await InstructorAsync();
        var yaml = $"name: uses\ntopology:\n  nodes:\n    h1:\n      kind: {name}\n";
        var template = await TemplateTestSupport.CreateAsync(teacher, yaml, ServerFixture.Unique("uses"));
        using var stale = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/node-types/{name}") { Content = JsonContent.Create(new UpdateNodeTypeRequest(Retired: true)) };
        stale.Headers.IfMatch.Add(new EntityTagHeaderValue("\"7\""));
        await Http.ProblemAsync(await S.Admin.SendAsync(stale), 412);
        await Http.ProblemAsync(await client.PatchAsJsonAsync($"/api/v1/node-types/{name}", new UpdateNodeTypeRequest(Retired: true)), 403);
        var retired = await Http.ReadAsync<NodeTypeDto>(await S.Admin.PatchAsJsonAsync($"/api/v1/node-types/{name}", new UpdateNodeTypeRequest(Retired: true)), 200);
        Assert.True(retired.Retired);
        Assert.NotNull(retired.RetiredAt);
        Assert.True((await Http.ReadAsync<NodeTypeDto>(await client.GetAsync($"/api/v1/node-types/{name}"), 200)).Retired);

        using var again = TemplateTestSupport.Upload(yaml, "uses.clab.yml");
        var refused = await Http.ProblemAsync(await teacher.PostAsync($"/api/v1/templates/{template.Id}/versions", again), 422);
        var d = Assert.Single(refused.GetProperty("diagnostics").EnumerateArray());
        Assert.Equal(("uses.clab.yml", 5, 13), (d.GetProperty("file").GetString(), d.GetProperty("line").GetInt32(), d.GetProperty("column").GetInt32()));
        Assert.Contains($"'{name}'", d.GetProperty("message").GetString());
        Assert.Contains("retired", d.GetProperty("message").GetString());
        // A deployment of the stored template (uploaded before the retirement) is refused the same way.
        using var deploy = new MultipartFormDataContent { { new StringContent(template.Id.ToString()), "template" } };
        var lab = await Http.ProblemAsync(await teacher.PostAsync("/api/v1/labs", deploy), 422);
        Assert.StartsWith($"lab.clab.yml:5:13: error: node 'h1' uses kind '{name}', which was retired",
            lab.GetProperty("errors").GetProperty("topology")[0].GetString());

        // Back in service, and a built-in type can be retired too (version 0 until then).
        await Http.EnsureAsync(await S.Admin.PatchAsJsonAsync($"/api/v1/node-types/{name}", new UpdateNodeTypeRequest(Retired: false)), 200, "reinstate");
        using var ifZero = new HttpRequestMessage(HttpMethod.Patch, "/api/v1/node-types/freebsd") { Content = JsonContent.Create(new UpdateNodeTypeRequest(Retired: true)) };
        ifZero.Headers.IfMatch.Add(new EntityTagHeaderValue("\"0\""));
        var freebsd = await Http.ReadAsync<NodeTypeDto>(await S.Admin.SendAsync(ifZero), 200);
        Assert.Equal(("built-in", true, 1L), (freebsd.Origin, freebsd.Retired, freebsd.Version));
        var retiredList = await Http.ReadAsync<Paged<NodeTypeDto>>(await client.GetAsync("/api/v1/node-types?retired=true"), 200);
        Assert.Equal(["freebsd"], retiredList.Items.Select(t => t.Name));
        await Http.EnsureAsync(await S.Admin.PatchAsJsonAsync("/api/v1/node-types/freebsd", new UpdateNodeTypeRequest(Retired: false)), 200, "reinstate");
    }

    [Fact]
    public async Task A_lab_deployed_from_a_stored_template_runs()
    {
        LabTestSupport.RequireDocker();
        var admin = S.Admin;
        var name = ServerFixture.Unique("ft");
        var template = await TemplateTestSupport.CreateAsync(admin, LabTestSupport.TinyLab(name), name);
        await using (var deployed = await ServerLab.RunAsync(admin, new MultipartFormDataContent
        {
            { new StringContent(template.Id.ToString()), "template" },
            { new StringContent("1"), "templateVersion" },
        }))
        {
            Assert.Equal(name, deployed.Name);
            var lab = await Http.ReadAsync<LabDto>(await admin.GetAsync($"/api/v1/labs/{name}"), 200);
            Assert.Equal(("running", "lab.clab.yml"), (lab.State, lab.SourceFileName));
            Assert.All(lab.Nodes, n => Assert.Equal("running", n.State));
            Assert.Equal(new LabTemplateRefDto(template.Id, 1), lab.Template);
            await deployed.DestroyAsync();
            await deployed.AssertNoLeftoversAsync();
        }
        // A template the caller cannot see does not exist for them.
        var student = await S.CreateUserAsync("s");
        using var client = await S.LoginAsync(student.UserName, ServerFixture.UserPassword);
        using var hidden = new MultipartFormDataContent { { new StringContent(template.Id.ToString()), "template" } };
        await Http.ProblemAsync(await client.PostAsync("/api/v1/labs", hidden), 404);
    }
}

public sealed class TemplatesApiOnSqlite(SqliteServer fixture) : TemplatesApiTests<SqliteServer>(fixture);

public sealed class TemplatesApiOnPostgres(PostgresServer fixture) : TemplatesApiTests<PostgresServer>(fixture);
