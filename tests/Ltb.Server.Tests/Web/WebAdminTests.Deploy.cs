using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

public sealed partial class WebAdminTests
{
    [Fact]
    public async Task An_admin_deploys_from_the_editor_on_the_host_they_choose_and_a_student_is_offered_no_host()
    {
        LabTestSupport.RequireDocker();
        server.Require();
        browser.Require();
        var ct = TestContext.Current.CancellationToken;
        var admin = await server.CreateUserAsync("uidh", "admin");
        var student = await server.CreateUserAsync("uidhs");
        using var adminApi = new LtbApiClient(await server.LoginAsync(admin.UserName, ServerFixture.UserPassword));
        var host = (await adminApi.ListHostsAsync(ct)).Items.First(h => h.IsLocal).Name;
        var name = ServerFixture.Unique("uidh");

        var studentPage = await browser.NewPageAsync(server.BaseAddress);
        await BrowserFixture.SignInAsync(studentPage, student.UserName, ServerFixture.UserPassword);
        await studentPage.GotoAsync("templates/editor");
        await Assertions.Expect(studentPage.GetByTestId("valid")).ToBeVisibleAsync();
        await Assertions.Expect(studentPage.GetByTestId("deploy-host")).ToHaveCountAsync(0);

        var page = await browser.NewPageAsync(server.BaseAddress);
        await BrowserFixture.SignInAsync(page, admin.UserName, ServerFixture.UserPassword);
        await page.GotoAsync("templates/editor");
        await Assertions.Expect(page.GetByTestId("valid")).ToContainTextAsync("my-lab is valid");
        await page.GetByLabel("Lab name").FillAsync(name);
        await page.GetByTestId("deploy-host").ClickAsync();
        await page.Locator(".mud-popover-open .mud-list-item").Filter(new() { HasText = host }).First.ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Deploy" }).ClickAsync();
        await page.WaitForURLAsync($"**/labs/{name}");
        try
        {
            await LabTestSupport.WaitForAsync(async () => (await adminApi.GetLabAsync(name, ct)).State is "running" or "failed", $"{name} deployed");
            var lab = await adminApi.GetLabAsync(name, ct);
            Assert.Equal(("running", host), (lab.State, lab.Host));
        }
        finally
        {
            await adminApi.DestroyLabAsync(name, ct);
            await LabTestSupport.WaitForAsync(async () =>
            {
                try
                {
                    await adminApi.GetLabAsync(name, ct);
                    return false;
                }
                catch (LtbApiException e) when (e.Status == 404)
                {
                    return true;
                }
            }, $"{name} destroyed");
        }
    }
}
