using Ltb.Server.Tests.Api;
using Ltb.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

/// <summary>
/// Issue #18, OpenID Connect in the browser: the sign-in page's "Sign in with ..." goes through the (real, in-process)
/// test provider and ends in the UI's cookie session on the page first asked for, with the roles the provider's groups
/// give; a return address of another site is refused, before and after the provider.
/// </summary>
public sealed class WebOidcTests(OidcServer server, BrowserFixture browser) : IClassFixture<OidcServer>, IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task A_student_signs_in_at_the_provider_and_lands_on_the_dashboard()
    {
        server.Require();
        browser.Require();
        var name = ServerFixture.Unique("sso.student");
        server.Provider.NextUser = new("sub-" + name, name, "SSO Student", ["/net-sso"]);
        var page = await browser.NewPageAsync(server.BaseAddress);
        await page.GotoAsync("/signin");
        await page.GetByRole(AriaRole.Link, new() { Name = $"Sign in with {OidcServer.ProviderName}" }).ClickAsync();
        await BrowserFixture.WaitInteractiveAsync(page);
        Assert.Equal(server.BaseAddress.ToString(), page.Url);
        await Assertions.Expect(page.GetByTestId("user-name")).ToHaveTextAsync(name);
        await Assertions.Expect(page.GetByTestId("my-labs").Or(page.GetByTestId("no-labs")).First).ToBeVisibleAsync();
        Assert.Single(await page.Context.CookiesAsync(), c => c.Name == "ltb.session");
        // A student: no admin pages (the server sends to the denied page).
        await page.GotoAsync("/admin/users");
        Assert.Contains("/denied", page.Url, StringComparison.Ordinal);
        Assert.Empty(BrowserFixture.CspViolations(page));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_provider_admin_asking_for_an_admin_page_signs_in_and_lands_on_it()
    {
        server.Require();
        browser.Require();
        var name = ServerFixture.Unique("sso.admin");
        server.Provider.NextUser = new("sub-" + name, name, "SSO Admin", ["ltb-admins"]);
        var page = await browser.NewPageAsync(server.BaseAddress);
        await page.GotoAsync("/admin/users");
        Assert.Contains("/signin?ReturnUrl=%2Fadmin%2Fusers", page.Url, StringComparison.Ordinal);
        await BrowserFixture.ScreenshotAsync(page, "signin-oidc");
        await page.GetByTestId("signin-oidc").ClickAsync();
        await page.WaitForURLAsync(new Uri(server.BaseAddress, "/admin/users").ToString());
        await BrowserFixture.WaitInteractiveAsync(page);
        await Assertions.Expect(page.GetByTestId("user-name")).ToHaveTextAsync(name);
        // The provider's group made this user an admin: the user list shows the new account itself.
        await Assertions.Expect(page.GetByTestId("users").GetByText(name).First).ToBeVisibleAsync();
        await page.Context.CloseAsync();
    }

    [Theory]
    [InlineData("https://evil.example/phish")]
    [InlineData("//evil.example/phish")]
    [InlineData("/\\evil.example/phish")]
    public async Task A_return_address_of_another_site_is_refused(string returnUrl)
    {
        server.Require();
        browser.Require();
        var page = await browser.NewPageAsync(server.BaseAddress);
        // Straight at the start of the flow, as a crafted link would: back to the sign-in page with the reason.
        await page.GotoAsync($"/account/oidc?returnUrl={Uri.EscapeDataString(returnUrl)}");
        Assert.StartsWith(new Uri(server.BaseAddress, "/signin").ToString(), page.Url, StringComparison.Ordinal);
        await Assertions.Expect(page.GetByTestId("signin-error")).ToContainTextAsync("not a page of this site");

        // The sign-in page's own link carries the bad address too: the flow still never leaves for it.
        var name = ServerFixture.Unique("sso.tamper");
        server.Provider.NextUser = new("sub-" + name, name, "SSO Tamper", []);
        await page.GotoAsync($"/signin?ReturnUrl={Uri.EscapeDataString(returnUrl)}");
        await page.GetByTestId("signin-oidc").ClickAsync();
        await page.WaitForLoadStateAsync();
        Assert.StartsWith(server.BaseAddress.ToString(), page.Url, StringComparison.Ordinal);
        Assert.DoesNotContain("evil.example", new Uri(page.Url).Host, StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }
}
