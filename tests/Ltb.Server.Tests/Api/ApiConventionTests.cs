using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.Api;

/// <summary>What every resource shares: problem details, pagination, ETags, the OpenAPI document, docs, health.</summary>
public abstract partial class ApiConventionTests<TServer>(TServer fixture) : IClassFixture<TServer>
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

    [Fact]
    public async Task Lists_page_with_a_stable_envelope_and_order()
    {
        var prefix = ServerFixture.Unique("pg");
        for (var n = 0; n < 5; n++)
        {
            await Http.EnsureAsync(await S.Admin.PostAsJsonAsync("/api/v1/groups", new CreateGroupRequest($"{prefix}-{n}")), 201, "group");
        }
        var first = await Http.ReadAsync<Paged<GroupDto>>(await S.Admin.GetAsync($"/api/v1/groups?q={prefix}&page=1&pageSize=2"), 200);
        var second = await Http.ReadAsync<Paged<GroupDto>>(await S.Admin.GetAsync($"/api/v1/groups?q={prefix}&page=2&pageSize=2"), 200);
        var third = await Http.ReadAsync<Paged<GroupDto>>(await S.Admin.GetAsync($"/api/v1/groups?q={prefix}&page=3&pageSize=2"), 200);
        Assert.Equal((1, 2, 5), (first.Page, first.PageSize, first.Total));
        Assert.Equal([$"{prefix}-0", $"{prefix}-1", $"{prefix}-2", $"{prefix}-3", $"{prefix}-4"],
            first.Items.Concat(second.Items).Concat(third.Items).Select(g => g.Name));

        var bad = await Http.ProblemAsync(await S.Admin.GetAsync("/api/v1/groups?pageSize=1000"), 400);
        Assert.Contains("pageSize", bad.GetProperty("detail").GetString());
        await Http.ProblemAsync(await S.Admin.GetAsync("/api/v1/users?page=0"), 400);
    }

    [Fact]
    public async Task Declared_checks_answer_first_refusal_in_the_order_the_handler_declares_them()
    {
        var owner = await S.CreateUserAsync("po");
        var stranger = await S.CreateUserAsync("ps");
        var group = await S.CreateGroupAsync("pg", owner.Id);
        using var client = await S.LoginAsync(stranger.UserName, ServerFixture.UserPassword);

        // The collection requirement comes before the page: a student listing the audit log is refused, whatever the page.
        var refused = await Http.ProblemAsync(await client.GetAsync("/api/v1/audit?page=0"), 403);
        Assert.Equal("you may not read an audit entry", refused.GetProperty("detail").GetString());
        // Members: the group is looked up first, so an unseen group is 404 whatever the page.
        var unseen = await Http.ProblemAsync(await client.GetAsync($"/api/v1/groups/{group.Id}/members?page=0"), 404);
        Assert.Equal("no such group", unseen.GetProperty("detail").GetString());
        // A lab's tasks: the page is checked first, so a bad page is 400 before any lab is looked up.
        var badPage = await Http.ProblemAsync(await client.GetAsync($"/api/v1/labs/{Guid.NewGuid()}/tasks?page=0"), 400);
        Assert.Equal("page: page counts from 1", badPage.GetProperty("detail").GetString());
        await Http.ProblemAsync(await client.GetAsync($"/api/v1/labs/{Guid.NewGuid()}/tasks?page=1"), 404);
        // A lab by name is one of the caller's own: another user's lab name is not found.
        await Http.ProblemAsync(await client.GetAsync("/api/v1/labs/no-such-lab/tasks"), 404);
    }

    [Fact]
    public async Task The_user_list_filters_by_role_and_by_name()
    {
        var teacher = await S.CreateUserAsync("rolef", "instructor");
        var learner = await S.CreateUserAsync("rolef");
        var instructors = await Http.ReadAsync<Paged<UserDto>>(await S.Admin.GetAsync("/api/v1/users?role=instructor&pageSize=200"), 200);
        Assert.Contains(instructors.Items, u => u.Id == teacher.Id);
        Assert.DoesNotContain(instructors.Items, u => u.Id == learner.Id);
        Assert.All(instructors.Items, u => Assert.Contains("instructor", u.Roles));

        var byName = await Http.ReadAsync<Paged<UserDto>>(await S.Admin.GetAsync($"/api/v1/users?q={learner.UserName.ToUpperInvariant()}"), 200);
        Assert.Equal([learner.Id], byName.Items.Select(u => u.Id));
    }

    [Fact]
    public async Task An_update_with_a_stale_ETag_is_refused_with_412()
    {
        var created = await S.Admin.PostAsJsonAsync("/api/v1/groups", new CreateGroupRequest(ServerFixture.Unique("et")));
        var group = await Http.ReadAsync<GroupDto>(created, 201);
        var etag = created.Headers.ETag!;
        Assert.Equal($"\"{group.Version}\"", etag.Tag);

        using var first = Patch($"/api/v1/groups/{group.Id}", new UpdateGroupRequest(Description: "first"), etag);
        var response = await S.Admin.SendAsync(first);
        var updated = await Http.ReadAsync<GroupDto>(response, 200);
        Assert.Equal(group.Version + 1, updated.Version);
        Assert.Equal($"\"{updated.Version}\"", response.Headers.ETag!.Tag);

        // A second writer who read the old version loses instead of overwriting silently.
        using var stale = Patch($"/api/v1/groups/{group.Id}", new UpdateGroupRequest(Description: "second"), etag);
        var problem = await Http.ProblemAsync(await S.Admin.SendAsync(stale), 412);
        Assert.Contains("read it again", problem.GetProperty("detail").GetString());
        var current = await Http.ReadAsync<GroupDto>(await S.Admin.GetAsync($"/api/v1/groups/{group.Id}"), 200);
        Assert.Equal("first", current.Description);

        // The same for users and hosts.
        var user = await S.CreateUserAsync("et");
        using var staleUser = Patch($"/api/v1/users/{user.Id}", new UpdateUserRequest(DisplayName: "x"), new EntityTagHeaderValue("\"999\""));
        await Http.ProblemAsync(await S.Admin.SendAsync(staleUser), 412);
        var hosts = await Http.ReadAsync<Paged<HostDto>>(await S.Admin.GetAsync("/api/v1/hosts"), 200);
        var local = Assert.Single(hosts.Items, h => h.IsLocal);
        using var staleHost = Patch($"/api/v1/hosts/{local.Id}", new UpdateHostRequest(Labels: new() { ["a"] = "b" }),
            new EntityTagHeaderValue($"\"{local.Version + 5}\""));
        await Http.ProblemAsync(await S.Admin.SendAsync(staleHost), 412);
    }

    private static HttpRequestMessage Patch(string path, object body, EntityTagHeaderValue ifMatch)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, path) { Content = JsonContent.Create(body) };
        request.Headers.IfMatch.Add(ifMatch);
        return request;
    }

    [Fact]
    public async Task Errors_are_problem_details_everywhere()
    {
        using var anonymous = S.Anonymous();
        await Http.ProblemAsync(await anonymous.GetAsync("/api/v1/users"), 401);
        await Http.ProblemAsync(await S.Admin.GetAsync("/api/v1/no-such-resource"), 404);
        await Http.ProblemAsync(await S.Admin.GetAsync($"/api/v1/users/{Guid.NewGuid()}"), 404);
        await Http.ProblemAsync(await S.Admin.PutAsync("/api/v1/me", null), 405);

        using var malformed = new StringContent("{not json", System.Text.Encoding.UTF8, "application/json");
        await Http.ProblemAsync(await S.Admin.PostAsync("/api/v1/groups", malformed), 400);

        var invalid = await Http.ProblemAsync(await S.Admin.PostAsJsonAsync("/api/v1/users",
            new CreateUserRequest("Bad Name!", "short", Roles: ["wizard"])), 400);
        var errors = invalid.GetProperty("errors");
        Assert.True(errors.TryGetProperty("userName", out _));
        Assert.True(errors.TryGetProperty("password", out _));
        Assert.Contains("wizard", errors.GetProperty("roles")[0].GetString());

        var duplicate = await S.CreateUserAsync("dup");
        var conflict = await Http.ProblemAsync(await S.Admin.PostAsJsonAsync("/api/v1/users",
            new CreateUserRequest(duplicate.UserName, ServerFixture.UserPassword)), 409);
        Assert.Contains(duplicate.UserName, conflict.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task The_OpenAPI_document_lists_every_endpoint()
    {
        using var anonymous = S.Anonymous();
        var document = await Http.ReadAsync<JsonElement>(await anonymous.GetAsync("/openapi/v1.json"), 200);
        var documented = document.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(m => $"{m.Name.ToUpperInvariant()} {p.Name}"))
            .ToHashSet();
        var mapped = S.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .SelectMany(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods
                .Select(m => $"{m} {Constraint().Replace(e.RoutePattern.RawText!, "{$1}").TrimEnd('/')}"))
            .ToHashSet();
        Assert.NotEmpty(mapped);
        // The SSH gateway's own key lookup (its sshd's AuthorizedKeysCommand, a shared secret): not a client's API.
        string[] internalOnly = ["GET /api/v1/ssh-gateway/authorized-keys"];
        Assert.Empty(mapped.Except(documented).Except(internalOnly));
        Assert.Empty(internalOnly.Intersect(documented));
        Assert.True(document.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("Bearer", out _));
    }

    [Fact]
    public async Task The_API_reference_renders_at_docs()
    {
        using var anonymous = S.Anonymous();
        var response = await anonymous.GetAsync("/docs");
        await Http.EnsureAsync(response, 200, "/docs");
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<html", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("LTB API", html);
    }

    [Fact]
    public async Task Health_endpoints_report_live_and_ready()
    {
        using var anonymous = S.Anonymous();
        await Http.EnsureAsync(await anonymous.GetAsync("/healthz"), 200, "/healthz");
        var ready = await Http.ReadAsync<JsonElement>(await anonymous.GetAsync("/readyz"), 200);
        Assert.NotEqual("Unhealthy", ready.GetProperty("status").GetString());
        Assert.Equal("Healthy", ready.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
        Assert.True(ready.GetProperty("checks").TryGetProperty("agents", out _));
    }

    [Fact]
    public async Task Anonymous_readyz_names_no_host_and_admins_get_the_detail()
    {
        var name = ServerFixture.Unique("down");
        var host = await Http.ReadAsync<HostDto>(await S.Admin.PostAsJsonAsync("/api/v1/hosts",
            new CreateHostRequest(name, "https://127.0.0.1:9", 2, 1L << 30)), 201);
        try
        {
            using var anonymous = S.Anonymous();
            var ready = await Http.ReadAsync<JsonElement>(await anonymous.GetAsync("/readyz"), 200);
            var agents = ready.GetProperty("checks").GetProperty("agents");
            Assert.Matches("^[0-9]+ of [0-9]+ host\\(s\\) unreachable$", agents.GetProperty("description").GetString());
            Assert.DoesNotContain(name, ready.GetRawText());
            Assert.DoesNotContain("127.0.0.1", ready.GetRawText());

            var detailed = await Http.ReadAsync<JsonElement>(await S.Admin.GetAsync("/readyz"), 200);
            Assert.Contains($"{name}: ", detailed.GetProperty("checks").GetProperty("agents").GetProperty("detail").GetString());
        }
        finally
        {
            await Http.EnsureAsync(await S.Admin.DeleteAsync($"/api/v1/hosts/{host.Id}"), 204, "remove the host");
        }
    }

    [Fact]
    public async Task Only_administrators_see_where_a_hosts_agent_listens()
    {
        var name = ServerFixture.Unique("addr");
        var host = await Http.ReadAsync<HostDto>(await S.Admin.PostAsJsonAsync("/api/v1/hosts",
            new CreateHostRequest(name, "https://10.9.8.7:9443", 2, 1L << 30)), 201);
        try
        {
            var student = await S.CreateUserAsync("addr");
            using var client = await S.LoginAsync(student.UserName, ServerFixture.UserPassword);
            var listed = await Http.ReadAsync<Paged<HostDto>>(await client.GetAsync("/api/v1/hosts"), 200);
            Assert.All(listed.Items, h => Assert.Null(h.Address));
            Assert.Contains(listed.Items, h => h.Name == name);
            var one = await Http.ReadAsync<JsonElement>(await client.GetAsync($"/api/v1/hosts/{host.Id}"), 200);
            Assert.DoesNotContain("10.9.8.7", one.GetRawText());
            var admins = await Http.ReadAsync<HostDto>(await S.Admin.GetAsync($"/api/v1/hosts/{host.Id}"), 200);
            Assert.Equal("https://10.9.8.7:9443", admins.Address);
        }
        finally
        {
            await Http.EnsureAsync(await S.Admin.DeleteAsync($"/api/v1/hosts/{host.Id}"), 204, "remove the host");
        }
    }

    [Fact]
    public async Task This_machine_is_the_local_host_and_cannot_be_removed()
    {
        var hosts = await Http.ReadAsync<Paged<HostDto>>(await S.Admin.GetAsync("/api/v1/hosts?state=ready"), 200);
        var local = Assert.Single(hosts.Items, h => h.IsLocal);
        Assert.Equal("local", local.Name);
        Assert.Equal(Environment.ProcessorCount, local.Cpus);
        Assert.True(local.MemoryBytes > 0);
        await Http.ProblemAsync(await S.Admin.DeleteAsync($"/api/v1/hosts/{local.Id}"), 409);
        await Http.ProblemAsync(await S.Admin.GetAsync("/api/v1/hosts?state=sleepy"), 400);
    }

    [Fact]
    public async Task SSH_keys_are_checked_fingerprinted_and_unique()
    {
        var user = await S.CreateUserAsync("ssh");
        using var session = await S.LoginAsync(user.UserName, ServerFixture.UserPassword);
        var line = Http.RandomSshKey("laptop");
        var key = await Http.ReadAsync<SshKeyDto>(await session.PostAsJsonAsync("/api/v1/ssh-keys", new AddSshKeyRequest(line)), 201);
        Assert.Equal("laptop", key.Name);
        Assert.Equal("ssh-ed25519", key.Algorithm);
        var blob = Convert.FromBase64String(line.Split(' ')[1]);
        Assert.Equal("SHA256:" + Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(blob)).TrimEnd('='), key.Fingerprint);

        await Http.ProblemAsync(await S.Admin.PostAsJsonAsync("/api/v1/ssh-keys", new AddSshKeyRequest(line)), 409);
        var bad = await Http.ProblemAsync(await session.PostAsJsonAsync("/api/v1/ssh-keys", new AddSshKeyRequest("ssh-ed25519 bm90IGEga2V5")), 400);
        Assert.True(bad.GetProperty("errors").TryGetProperty("publicKey", out _));
        await Http.ProblemAsync(await session.PostAsJsonAsync("/api/v1/ssh-keys", new AddSshKeyRequest("hello")), 400);

        var list = await Http.ReadAsync<Paged<SshKeyDto>>(await session.GetAsync("/api/v1/ssh-keys"), 200);
        Assert.Equal([key.Id], list.Items.Select(k => k.Id));
    }

    [Fact]
    public async Task An_instructor_who_creates_a_group_manages_it_and_the_audit_log_records_it()
    {
        var instructor = await S.CreateUserAsync("teach", "instructor");
        var student = await S.CreateUserAsync("learn");
        using var session = await S.LoginAsync(instructor.UserName, ServerFixture.UserPassword);
        var group = await Http.ReadAsync<GroupDto>(await session.PostAsJsonAsync("/api/v1/groups",
            new CreateGroupRequest(ServerFixture.Unique("course"))), 201);
        Assert.Equal(1, group.MemberCount);
        await Http.EnsureAsync(await session.PutAsync($"/api/v1/groups/{group.Id}/members/{student.UserName}", null), 204, "add by name");
        var members = await Http.ReadAsync<Paged<MemberDto>>(await session.GetAsync($"/api/v1/groups/{group.Id}/members"), 200);
        Assert.Equal(new[] { instructor.UserName, student.UserName }.Order(), members.Items.Select(m => m.UserName).Order());
        await Http.ProblemAsync(await session.PutAsync($"/api/v1/groups/{group.Id}/members/nobody-at-all", null), 404);

        var audit = await Http.ReadAsync<Paged<AuditEntryDto>>(
            await S.Admin.GetAsync($"/api/v1/audit?objectType=group&objectId={group.Id}"), 200);
        Assert.Equal(["member-added", "created"], audit.Items.Select(e => e.Action));
        Assert.All(audit.Items, e => Assert.Equal(instructor.UserName, e.ActorName));
    }

    [GeneratedRegex(@"\{(\w+):[^}]+\}")]
    private static partial Regex Constraint();
}

public sealed class ApiConventionTestsOnSqlite(SqliteServer fixture) : ApiConventionTests<SqliteServer>(fixture);

public sealed class ApiConventionTestsOnPostgres(PostgresServer fixture) : ApiConventionTests<PostgresServer>(fixture);
