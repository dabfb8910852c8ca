using Ltb.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

public sealed partial class WebStudentTests
{
    /// <summary>An SSH public key (ed25519) made for this test; only its public half is used.</summary>
    private const string PublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH3NEt6hC+TWkXpMxMLSfUQVlSJ+OYBuoE2MgPkxg2X8 ui-test";

    /// <summary>
    /// The profile page: a wrong current password is refused at its field; an SSH key and an API token are added (the
    /// token's secret shown once, and it works against the API), then removed and revoked.
    /// </summary>
    [Fact]
    public async Task A_student_manages_password_keys_and_tokens_on_the_profile_page()
    {
        server.Require();
        browser.Require();
        var ct = TestContext.Current.CancellationToken;
        var student = await server.CreateUserAsync("uip");
        var page = await browser.NewPageAsync(server.BaseAddress);
        await BrowserFixture.SignInAsync(page, student.UserName, ServerFixture.UserPassword);
        await BrowserFixture.WaitInteractiveAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Profile, keys, tokens" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = student.UserName })).ToBeVisibleAsync();

        await page.GetByLabel("Current password").FillAsync("not-the-password");
        await page.GetByLabel("New password").FillAsync("A-new-long-password-1");
        await page.GetByTestId("password-change").ClickAsync();
        await Assertions.Expect(page.GetByText("is not the current password")).ToBeVisibleAsync();

        await page.GetByLabel("Public key (one line of a .pub file)").FillAsync("ssh-rsa nonsense");
        await page.GetByTestId("ssh-key-add").ClickAsync();
        await Assertions.Expect(page.GetByTestId("ssh-keys").Locator("tr")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator(".mud-input-helper-text.mud-input-error").First).ToBeVisibleAsync();
        await page.GetByLabel("Public key (one line of a .pub file)").FillAsync(PublicKey);
        await page.GetByTestId("ssh-key-add").ClickAsync();
        await Assertions.Expect(page.GetByTestId("ssh-keys").Locator("tr")).ToHaveCountAsync(1);

        await page.GetByLabel("Token name").FillAsync("ci");
        await page.GetByTestId("token-create").ClickAsync();
        var secret = (await page.GetByTestId("token-secret").Locator("code").InnerTextAsync()).Trim();
        using (var api = server.Api(secret))
        {
            Assert.Equal(student.UserName, (await api.GetMeAsync(ct)).UserName);
        }
        var row = page.GetByTestId("tokens").Locator("tr[data-token='ci']");
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await row.GetByRole(AriaRole.Button, new() { Name = "Revoke token ci" }).ClickAsync();
        await Assertions.Expect(row).ToHaveCountAsync(0);
        using (var api = server.Api(secret))
        {
            var refused = await Assert.ThrowsAsync<LtbApiException>(() => api.GetMeAsync(ct));
            Assert.Equal(401, refused.Status);
        }
        await page.GetByTestId("ssh-keys").GetByRole(AriaRole.Button).First.ClickAsync();
        await Assertions.Expect(page.GetByTestId("ssh-keys").Locator("tr")).ToHaveCountAsync(0);
        await BrowserFixture.ScreenshotAsync(page, "profile-light");
    }
}
