using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

/// <summary>
/// A VM node's display on the lab page: noVNC (the client bundle's ui/novnc.js) over the display WebSocket, opened with a
/// ticket the cookie session asked for, shows the real guest's screen (QEMU's VGA, TCG here); a VM without a display and
/// a student who does not own the lab get the API's refusal in words.
/// </summary>
public sealed partial class WebLabTests
{
    private const string TinyVmKernel = "/var/lib/ltb/vm-images/ltb/tinyvm/latest/kernel";

    [Fact]
    public async Task A_student_sees_a_vm_screen_in_the_browser_and_others_are_refused_in_words()
    {
        LabTestSupport.RequireDocker();
        Prerequisite.Require(File.Exists("/usr/bin/qemu-system-x86_64"), "QEMU (apt-get install qemu-system-x86 qemu-utils)");
        Prerequisite.Require(File.Exists(TinyVmKernel), $"the tiny VM image ({TinyVmKernel}; scripts/build-vm-images.sh builds it)");
        server.Require();
        browser.Require();
        var ct = TestContext.Current.CancellationToken;
        var student = await server.CreateUserAsync("uivnc");
        var stranger = await server.CreateUserAsync("uivncx");
        using var owner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        var name = ServerFixture.Unique("uivnc");
        await using var lab = await ServerLab.RunAsync(owner, $$$"""
            name: {{{name}}}
            topology:
              nodes:
                vm1: {kind: ltb_tinyvm, labels: {ltb.display: vnc}}
                vm2: {kind: ltb_tinyvm}
            """);

        var page = await browser.NewPageAsync(server.BaseAddress);
        await BrowserFixture.SignInAsync(page, student.UserName, ServerFixture.UserPassword);
        await page.GotoAsync($"labs/{name}");
        await BrowserFixture.WaitInteractiveAsync(page);
        var open = page.GetByTestId("display-vm1");
        await Assertions.Expect(open).ToBeEnabledAsync(new() { Timeout = 60_000 });
        await open.ClickAsync();
        var screen = page.Locator("#display-screen-vm1");
        await Assertions.Expect(screen).ToHaveAttributeAsync("data-display", "open", new() { Timeout = 30_000 });
        // The guest's screen in the canvas: more than one colour (the firmware's or the kernel's text on black).
        await page.WaitForFunctionAsync("() => ltb.display.drawn('display-screen-vm1')", null, new() { Timeout = 120_000 });
        await screen.ScrollIntoViewIfNeededAsync();
        await PageChecks.ScreenshotAsync(page, "lab-display-light");

        // A VM without a display: the tab says what to do instead of an empty screen.
        await page.GetByTestId("display-vm2").ClickAsync();
        await Assertions.Expect(page.GetByTestId("tab-error-vm2")).ToContainTextAsync("ltb.display: vnc");

        // Another student: the lab page and the ticket are refused in words (the API's 404), no display anywhere.
        var other = await browser.NewPageAsync(server.BaseAddress);
        await BrowserFixture.SignInAsync(other, stranger.UserName, ServerFixture.UserPassword);
        await other.GotoAsync($"labs/{name}");
        await Assertions.Expect(other.GetByTestId("lab-error")).ToContainTextAsync($"no lab {name} that you can open: it does not exist, or it is not yours");
        Assert.Equal(0, await other.GetByTestId("display-vm1").CountAsync());
        using var strangerApi = new LtbApiClient(await server.LoginAsync(stranger.UserName, ServerFixture.UserPassword));
        var refused = await Assert.ThrowsAsync<LtbApiException>(() => strangerApi.CreateDisplayTicketAsync(name, "vm1", ct));
        Assert.Equal(404, refused.Status);

        // A display ticket opens the display only: the console WebSocket refuses it.
        using var api = new LtbApiClient(owner);
        var ticket = await api.CreateDisplayTicketAsync(name, "vm1", ct);
        Assert.Contains("/vnc/ws?ticket=", ticket.Url, StringComparison.Ordinal);
        var asConsole = await owner.GetAsync($"/api/v1/labs/{lab.Id}/nodes/vm1/console/ws?ticket={ticket.Ticket}", ct);
        Assert.Equal(401, (int)asConsole.StatusCode);
        await page.GetByRole(AriaRole.Tab, new() { Name = "vm1 display" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Close vm1 display" }).ClickAsync();
        await Assertions.Expect(page.Locator("#display-screen-vm1")).ToHaveCountAsync(0);
    }
}
