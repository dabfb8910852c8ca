using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

public sealed partial class WebAdminTests
{
    /// <summary>
    /// The hosts page shows the local host's live use: its CPU in percent, memory used of its total and the labs and
    /// nodes it runs (the student's lab among them), read from the usage collector's sample (every 5 s; the page is
    /// opened again until the first one is there).
    /// </summary>
    private async Task HostUsageAsync(IPage page, CancellationToken ct)
    {
        var local = (await server.AdminApi.ListHostsAsync(ct)).Items.Single(h => h.IsLocal).Name;
        await page.GetByRole(AriaRole.Link, new() { Name = "Hosts" }).ClickAsync();
        var cpu = page.GetByTestId($"host-cpu-{local}");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await cpu.IsVisibleAsync())
        {
            Assert.True(DateTime.UtcNow < deadline, "no usage of the local host on the hosts page: " + await page.GetByTestId("hosts").InnerTextAsync());
            await Task.Delay(1000, ct);
            await page.ReloadAsync();
            await BrowserFixture.WaitInteractiveAsync(page);
        }
        await Assertions.Expect(cpu).ToHaveTextAsync(new Regex(@"^CPU \d+[.,]\d %$"));
        await Assertions.Expect(page.GetByTestId($"host-memory-{local}")).ToHaveTextAsync(new Regex(@"^memory \d+([.,]\d)? GiB of \d+([.,]\d)? GiB$"));
        await Assertions.Expect(page.GetByTestId($"host-labs-{local}")).ToHaveTextAsync(new Regex(@"^[1-9]\d* labs?, [1-9]\d* nodes?$"));
        await Assertions.Expect(page.GetByTestId($"host-usage-{local}")).Not.ToContainTextAsync("unavailable");
    }
}
