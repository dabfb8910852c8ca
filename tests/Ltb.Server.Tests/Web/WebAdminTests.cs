using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

/// <summary>
/// Issue #18, the admin UI in a real browser against a real server: a student is refused every admin page (found by
/// reflection, so a new page is covered without editing this test) on the first request and inside the circuit, and
/// every admin API; an admin creates a user and resets their password (the new one signs in), manages a group's
/// members, adds a node type whose broken definition is shown at its line, imports and deletes a VM image, edits the
/// policy, sees a student's real lab in all labs with its deploy task, the capacity timeline and the audit entries.
/// </summary>
public sealed partial class WebAdminTests(SqliteServer server, BrowserFixture browser) : IClassFixture<SqliteServer>, IClassFixture<BrowserFixture>
{
    /// <summary>Every page of Ltb.Web under /admin, with the roles its [Authorize] names.</summary>
    public static IReadOnlyList<(string Route, string? Roles)> AdminPages() =>
        [.. typeof(Ltb.Web.WebSetup).Assembly.GetTypes()
            .SelectMany(t => t.GetCustomAttributes<RouteAttribute>().Select(r => (r.Template, t.GetCustomAttribute<AuthorizeAttribute>()?.Roles)))
            .Where(p => p.Template.StartsWith("/admin", StringComparison.Ordinal))
            .OrderBy(p => p.Template, StringComparer.Ordinal)];

    [Fact]
    public async Task A_student_reaches_no_admin_page_nor_admin_api()
    {
        server.Require();
        browser.Require();
        var pages = AdminPages();
        Assert.True(pages.Count >= 11, $"admin pages found: {string.Join(", ", pages.Select(p => p.Route))}");
        Assert.All(pages, p => Assert.Equal("admin", p.Roles));

        var student = await server.CreateUserAsync("uiq");
        var page = await browser.NewPageAsync(server.BaseAddress);
        await BrowserFixture.SignInAsync(page, student.UserName, ServerFixture.UserPassword);
        await BrowserFixture.WaitInteractiveAsync(page);
        var cookie = (await page.Context.CookiesAsync()).Single(c => c.Name == "ltb.session").Value;
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress };
        http.DefaultRequestHeaders.Add("Cookie", $"ltb.session={cookie}");

        foreach (var (route, _) in pages)
        {
            // The server refuses the first request: a redirect, and none of the page in the answer.
            using var answer = await http.GetAsync(route, TestContext.Current.CancellationToken);
            Assert.True(answer.StatusCode == HttpStatusCode.Redirect, $"{route}: {answer.StatusCode}");
            Assert.StartsWith("/denied", answer.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
            // Inside the circuit (navigation without a page load) the router refuses it too.
            await page.EvaluateAsync("r => Blazor.navigateTo(r)", route);
            await Assertions.Expect(page.GetByTestId("denied")).ToBeVisibleAsync();
            await page.GotoAsync("/");
            await BrowserFixture.WaitInteractiveAsync(page);
        }
        // The jobs dashboard: the cookie is accepted there for admins only.
        using (var jobs = await http.GetAsync("/admin/jobs/", TestContext.Current.CancellationToken))
        {
            Assert.NotEqual(HttpStatusCode.OK, jobs.StatusCode);
        }

        // The admin API, with the student's own bearer token: 403 each, nothing changed.
        using var api = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        var ct = TestContext.Current.CancellationToken;
        var refused = new (string What, Func<Task<HttpResponseMessage>> Call)[]
        {
            ("create user", () => api.PostAsJsonAsync("/api/v1/users", new CreateUserRequest(ServerFixture.Unique("uix"), "Fresh-Passw0rd-1"), ct)),
            ("reset a password", () => api.PostAsJsonAsync($"/api/v1/users/{student.Id}/password", new ResetPasswordRequest("Other-Passw0rd-1"), ct)),
            ("lock a user", () => api.PatchAsJsonAsync($"/api/v1/users/{student.Id}", new UpdateUserRequest(Roles: ["admin"]), ct)),
            ("audit log", () => api.GetAsync("/api/v1/audit", ct)),
            ("replace the policy", () => api.PutAsJsonAsync("/api/v1/policy", new { }, ct)),
            ("add a node type", () => api.PostAsJsonAsync("/api/v1/node-types", new CreateNodeTypeRequest("name: x\nruntime: container\nimage: a:b\n"), ct)),
            ("import a VM image", () => api.PostAsJsonAsync("/api/v1/vm-images/import", new ImportVmImageRequest("x", "1", "openbsd", "/etc/hostname"), ct)),
            ("every reservation", () => api.GetAsync("/api/v1/reservations?scope=all", ct)),
            ("create a host", () => api.PostAsJsonAsync("/api/v1/hosts", new { name = "x" }, ct)),
            ("jobs dashboard", () => api.GetAsync("/admin/jobs/", ct)),
        };
        foreach (var (what, call) in refused)
        {
            using var answer = await call();
            Assert.True(answer.StatusCode == HttpStatusCode.Forbidden, $"{what}: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync(ct)}");
        }
        Assert.DoesNotContain("admin", (await server.AdminApi.GetUserAsync(student.Id, ct)).Roles);
        // The user list answers a student with themselves only.
        using var list = await api.GetAsync("/api/v1/users", ct);
        var users = await list.Content.ReadFromJsonAsync<Paged<UserDto>>(ct);
        Assert.Equal([student.UserName], users!.Items.Select(u => u.UserName));
    }

    [Fact]
    public async Task An_admin_manages_users_groups_node_types_images_and_policy_and_sees_a_students_lab()
    {
        LabTestSupport.RequireDocker();
        server.Require();
        browser.Require();
        var ct = TestContext.Current.CancellationToken;
        var admin = await server.CreateUserAsync("uiad", "admin");
        var student = await server.CreateUserAsync("uist");
        using var owner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        var labName = ServerFixture.Unique("uiadlab");
        await using var lab = await ServerLab.RunAsync(owner, LabTestSupport.TinyLab(labName));

        var page = await browser.NewPageAsync(server.BaseAddress);
        await BrowserFixture.SignInAsync(page, admin.UserName, ServerFixture.UserPassword);
        await BrowserFixture.WaitInteractiveAsync(page);

        // Users: create one, reset their password from the page; the new password signs in, the old one no longer does.
        await page.GetByRole(AriaRole.Link, new() { Name = "Users" }).ClickAsync();
        var created = ServerFixture.Unique("uinew");
        await page.GetByLabel("New user name").FillAsync(created);
        await page.GetByLabel("Initial password").FillAsync("Fresh-Passw0rd-1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create user" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("users")).ToContainTextAsync(created);
        await page.GetByRole(AriaRole.Button, new() { Name = $"Reset password for {created}" }).ClickAsync();
        await page.GetByTestId("reset-password").GetByLabel("New password").FillAsync("Reset-Passw0rd-2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Set password", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("reset-password")).ToHaveCountAsync(0);
        (await server.LoginAsync(created, "Reset-Passw0rd-2")).Dispose();
        await Assert.ThrowsAnyAsync<Exception>(() => server.LoginTokenAsync(created, "Fresh-Passw0rd-1"));

        // Groups: create one, add the new user, see the count; remove them again.
        await page.GetByRole(AriaRole.Link, new() { Name = "Groups" }).ClickAsync();
        var group = ServerFixture.Unique("uigrp");
        await page.GetByLabel("Group name").FillAsync(group);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create group" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = $"Members of {group}" }).ClickAsync();
        await page.GetByLabel("User name to add").FillAsync(created);
        await page.GetByRole(AriaRole.Button, new() { Name = "Add member" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("members")).ToContainTextAsync(created);
        var stored = (await server.AdminApi.ListGroupsAsync(group, ct)).Items.Single(g => g.Name == group);
        Assert.Contains((await server.AdminApi.ListGroupMembersAsync(stored.Id, ct)).Items, m => m.UserName == created);
        await page.GetByRole(AriaRole.Button, new() { Name = $"Remove {created}" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("members")).Not.ToContainTextAsync(created);

        await NodeTypeAsync(page, ct);
        await VmImageAsync(page, ct);
        await HostUsageAsync(page, ct);

        // The policy: the quota table from the document; a document the server refuses is said in words; a valid one saved.
        await page.GetByRole(AriaRole.Link, new() { Name = "Quotas & policy" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("quotas")).ToContainTextAsync("role student");
        await SetEditorTextAsync(page, "policy-editor", "{ \"outputLimitBytes\": -5 }");
        await page.GetByTestId("policy-save").ClickAsync();
        await Assertions.Expect(page.GetByTestId("policy-error")).ToContainTextAsync("outputLimitBytes", new() { IgnoreCase = true });

        // All labs: the student's lab with its owner and state; its deploy task on the Tasks page.
        await page.GetByRole(AriaRole.Link, new() { Name = "All labs" }).ClickAsync();
        var row = page.GetByTestId("all-labs").GetByRole(AriaRole.Row).Filter(new() { HasText = labName });
        await Assertions.Expect(row).ToContainTextAsync(student.UserName);
        await Assertions.Expect(row.Locator("[data-state]")).ToHaveAttributeAsync("data-state", "running");
        await page.GetByRole(AriaRole.Link, new() { Name = "Tasks" }).ClickAsync();
        await page.GetByTestId("task-lab").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = $"{labName} ({student.UserName})" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("tasks")).ToContainTextAsync("deploy");
        await Assertions.Expect(page.GetByTestId("jobs-dashboard")).ToHaveAttributeAsync("href", "/admin/jobs/");
        // The jobs dashboard opens in the admin's browser (the cookie is enough there for an admin).
        var jobs = await page.APIRequest.GetAsync("/admin/jobs/");
        Assert.Equal(200, jobs.Status);

        // The capacity timeline has a row per host; the audit log shows the user this admin created.
        await page.GetByRole(AriaRole.Link, new() { Name = "All reservations" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("capacity-timeline").Locator(".ltb-timeline-row")).Not.ToHaveCountAsync(0);
        await page.GetByRole(AriaRole.Link, new() { Name = "Audit log" }).ClickAsync();
        await page.GetByLabel("Object type (e.g. user, lab)").FillAsync("user");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("audit")).ToContainTextAsync(admin.UserName);
    }

    /// <summary>A new node type from the page: a broken definition's error shown at its line, then the fixed one saved and listed.</summary>
    private async Task NodeTypeAsync(IPage page, CancellationToken ct)
    {
        await page.GetByRole(AriaRole.Link, new() { Name = "Node types" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("node-types")).ToContainTextAsync("linux");
        await page.GetByRole(AriaRole.Button, new() { Name = "New node type" }).ClickAsync();
        var name = ServerFixture.Unique("uitype");
        await SetEditorTextAsync(page, "node-type-editor", Templates.TemplateTestSupport.HostType(name).Replace("runtime: container", "runtime: banana", StringComparison.Ordinal));
        await page.GetByTestId("node-type-save").ClickAsync();
        var diagnostic = page.GetByTestId("node-type-diagnostics").Locator(".ltb-diagnostic").First;
        await Assertions.Expect(diagnostic).ToHaveAttributeAsync("data-line", "3");
        await Assertions.Expect(page.Locator("#node-type-editor .cm-lintRange-error")).Not.ToHaveCountAsync(0);
        await SetEditorTextAsync(page, "node-type-editor", Templates.TemplateTestSupport.HostType(name));
        await page.GetByTestId("node-type-save").ClickAsync();
        await Assertions.Expect(page.GetByTestId("node-types")).ToContainTextAsync(name);
        Assert.Equal("custom", (await server.AdminApi.ListNodeTypesAsync(ct)).Items.Single(t => t.Name == name).Origin);
    }

    /// <summary>A raw disk imported from a path on the controller's host, listed, then deleted from the page.</summary>
    private async Task VmImageAsync(IPage page, CancellationToken ct)
    {
        var disk = Path.Combine(Path.GetTempPath(), ServerFixture.Unique("uidisk") + ".raw");
        await File.WriteAllBytesAsync(disk, new byte[1 << 20], ct);
        try
        {
            await page.GetByRole(AriaRole.Link, new() { Name = "VM images" }).ClickAsync();
            var name = ServerFixture.Unique("uiimg");
            var form = page.GetByTestId("vm-image-import");
            await form.GetByLabel("Image name").FillAsync(name);
            await form.GetByLabel("Version").FillAsync("1.0");
            await form.GetByLabel("Node type").ClickAsync();
            await page.GetByRole(AriaRole.Option, new() { Name = "openbsd" }).ClickAsync();
            await form.GetByLabel("Disk file path").FillAsync(disk);
            await page.GetByRole(AriaRole.Button, new() { Name = "Add image" }).ClickAsync();
            await Assertions.Expect(page.GetByTestId("vm-images")).ToContainTextAsync(name);
            Assert.Contains((await server.AdminApi.ListVmImagesAsync(null, ct)).Items, i => i.Name == name && i.Format == "raw");
            await page.GetByRole(AriaRole.Button, new() { Name = $"Delete {name} 1.0" }).ClickAsync();
            await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
            await Assertions.Expect(page.GetByTestId("vm-images")).Not.ToContainTextAsync(name);
            Assert.DoesNotContain((await server.AdminApi.ListVmImagesAsync(null, ct)).Items, i => i.Name == name);
        }
        finally
        {
            File.Delete(disk);
        }
    }

    private static async Task SetEditorTextAsync(IPage page, string editor, string text)
    {
        await page.WaitForFunctionAsync($"() => document.querySelector('#{editor} .cm-editor') !== null");
        await page.EvaluateAsync("([id, t]) => ltb.editor.setText(document.getElementById(id), t)", new object[] { editor, text });
    }
}
