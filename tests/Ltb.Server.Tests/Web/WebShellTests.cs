using System.Net;
using Ltb.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

/// <summary>
/// Issue #18, the shell of the web UI in a real browser: cookie sign-in (a wrong password is said in words), the
/// dashboard, the theme, sign-out that ends the session for good, a student sent away from admin pages (and the admin
/// API), an anonymous visitor sent to sign in and back, and an admin's user list with a user created from it.
/// </summary>
public sealed partial class WebShellTests(SqliteServer server, BrowserFixture browser) : IClassFixture<SqliteServer>, IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task A_student_signs_in_sees_the_dashboard_is_kept_out_of_admin_pages_and_signs_out()
    {
        server.Require();
        browser.Require();
        var student = await server.CreateUserAsync("uis");
        var page = await browser.NewPageAsync(server.BaseAddress);

        // Anonymous: any page sends to the sign-in page, which sends back afterwards.
        await page.GotoAsync("/labs/some-lab");
        Assert.Contains("/signin?ReturnUrl=%2Flabs%2Fsome-lab", page.Url, StringComparison.Ordinal);

        await BrowserFixture.SignInAsync(page, student.UserName, "Wrong-Passw0rd-9");
        await Assertions.Expect(page.GetByTestId("signin-error")).ToContainTextAsync("invalid user name or password");
        await BrowserFixture.ScreenshotAsync(page, "signin-error");

        await BrowserFixture.SignInAsync(page, student.UserName, ServerFixture.UserPassword);
        await BrowserFixture.WaitInteractiveAsync(page);
        await Assertions.Expect(page.GetByTestId("user-name")).ToHaveTextAsync(student.UserName);
        await Assertions.Expect(page.GetByTestId("no-labs")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Users" })).ToHaveCountAsync(0);
        var cookies = await page.Context.CookiesAsync();
        var session = Assert.Single(cookies, c => c.Name == "ltb.session");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Lax, session.SameSite);

        // The theme: dark, kept by this browser across a reload.
        await page.GetByTestId("theme-toggle").ClickAsync();
        // The choice travels over the circuit to localStorage; reloading before it lands would lose it.
        await page.WaitForFunctionAsync("() => localStorage.getItem('ltb.theme') === 'dark'");
        await page.ReloadAsync();
        await BrowserFixture.WaitInteractiveAsync(page);
        Assert.Equal("dark", await page.EvaluateAsync<string>("() => localStorage.getItem('ltb.theme')"));
        await page.WaitForFunctionAsync("() => getComputedStyle(document.body).backgroundColor !== 'rgb(255, 255, 255)'");
        await BrowserFixture.ScreenshotAsync(page, "dashboard-dark");

        // Admin pages: the server refuses them on the first request, and the circuit while navigating.
        foreach (var admin in new[] { "/admin/users", "/admin/hosts", "/admin/labs" })
        {
            await page.GotoAsync(admin);
            await Assertions.Expect(page.GetByTestId("denied")).ToBeVisibleAsync();
            Assert.EndsWith("/denied?ReturnUrl=" + Uri.EscapeDataString(admin), page.Url, StringComparison.Ordinal);
        }
        // The cookie is no key to the API (it is bearer-only): no CSRF through it.
        var apiAnswer = await page.APIRequest.GetAsync("/api/v1/me");
        Assert.Equal(401, apiAnswer.Status);

        // Sign-out revokes the session's token: the old cookie no longer opens a page.
        await page.GotoAsync("/");
        await BrowserFixture.WaitInteractiveAsync(page);
        await page.GetByTestId("sign-out").ClickAsync();
        await page.WaitForURLAsync("**/signin");
        using var replay = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        replay.DefaultRequestHeaders.Add("Cookie", $"ltb.session={session.Value}");
        var stale = await replay.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, stale.StatusCode);
        Assert.StartsWith("/signin", stale.Headers.Location!.PathAndQuery, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_admin_lists_users_creates_one_and_sees_hosts_and_all_labs()
    {
        server.Require();
        browser.Require();
        var admin = await server.CreateUserAsync("uia", "admin");
        var page = await browser.NewPageAsync(server.BaseAddress);
        await BrowserFixture.SignInAsync(page, admin.UserName, ServerFixture.UserPassword);
        await BrowserFixture.WaitInteractiveAsync(page);

        await page.GetByRole(AriaRole.Link, new() { Name = "Users" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("users")).ToContainTextAsync(admin.UserName);
        var created = ServerFixture.Unique("uin");
        await page.GetByLabel("New user name").FillAsync(created);
        await page.GetByLabel("Initial password").FillAsync("Fresh-Passw0rd-1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create user" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("users")).ToContainTextAsync(created);
        var users = await server.AdminApi.ListUsersAsync(TestContext.Current.CancellationToken);
        Assert.Contains(users.Items, u => u.UserName == created && u.Roles.Contains("student"));
        await BrowserFixture.ScreenshotAsync(page, "admin-users");

        await page.GetByRole(AriaRole.Link, new() { Name = "Hosts" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("hosts")).ToContainTextAsync("local");
        await page.GetByRole(AriaRole.Link, new() { Name = "All labs" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("all-labs")).ToBeVisibleAsync();
    }
}
