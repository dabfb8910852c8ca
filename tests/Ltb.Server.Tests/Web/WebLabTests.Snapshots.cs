using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

/// <summary>
/// A snapshot's archive in the browser: exported from the lab page (the browser downloads it straight from the API with
/// a transfer ticket), imported on the dashboard under a new name (the browser streams the file to the API), listed,
/// and deployed from there as a new lab that runs.
/// </summary>
public sealed partial class WebLabTests
{
    [Fact]
    public async Task A_student_exports_a_snapshot_imports_the_archive_and_deploys_it_as_a_new_lab()
    {
        LabTestSupport.RequireDocker();
        server.Require();
        browser.Require();
        var ct = TestContext.Current.CancellationToken;
        var student = await server.CreateUserAsync("uisnap");
        using var owner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        using var api = new LtbApiClient(owner);
        var name = ServerFixture.Unique("uisnap");
        await using var lab = await ServerLab.RunAsync(owner, LabTestSupport.TinyLab(name));
        await api.CreateSnapshotAsync(lab.Id.ToString(), new CreateSnapshotRequest("first"), ct);

        var page = await browser.NewPageAsync(server.BaseAddress);
        await BrowserFixture.SignInAsync(page, student.UserName, ServerFixture.UserPassword);
        await page.GotoAsync($"labs/{name}");
        await BrowserFixture.WaitInteractiveAsync(page);
        await Assertions.Expect(page.GetByTestId("snapshot-list").Locator("[data-snapshot='first'] [data-state]"))
            .ToHaveAttributeAsync("data-state", "ready", new() { Timeout = (float)LabTestSupport.TaskTimeout.TotalMilliseconds });

        // Export: the browser's own download, the archive whole.
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Export first" }).ClickAsync());
        var archive = Path.Combine(Path.GetTempPath(), ServerFixture.Unique("ui-snapshot") + ".ltbsnap.tar");
        await download.SaveAsAsync(archive);
        try
        {
            Assert.Equal($"{name}-first.ltbsnap.tar", download.SuggestedFilename); // the server's Content-Disposition
            Assert.True(new FileInfo(archive).Length > 1024, $"the archive has {new FileInfo(archive).Length} bytes");

            // Import on the dashboard under another name: listed there and by the API.
            await page.GotoAsync("");
            await BrowserFixture.WaitInteractiveAsync(page);
            var import = page.GetByTestId("snapshot-import");
            await import.GetByLabel("Snapshot archive (.ltbsnap.tar)").SetInputFilesAsync(archive);
            await import.GetByLabel("Name (optional)").FillAsync("imported");
            await page.GetByTestId("snapshot-import-start").ClickAsync();
            var row = page.GetByTestId("my-snapshots").Locator("[data-snapshot='imported']");
            await Assertions.Expect(row).ToBeVisibleAsync(new() { Timeout = 60_000 });
            await Assertions.Expect(import.GetByTestId("snapshot-import-error")).ToHaveCountAsync(0);
            Assert.Contains((await api.ListSnapshotsAsync(ct)).Items, s => s.Name == "imported" && s.State == "ready");

            // A file that is no archive: refused at the form in the API's words.
            await File.WriteAllTextAsync(archive, "not a snapshot archive", ct);
            await import.GetByLabel("Snapshot archive (.ltbsnap.tar)").SetInputFilesAsync(archive);
            await import.GetByLabel("Name (optional)").FillAsync("broken");
            await page.GetByTestId("snapshot-import-start").ClickAsync();
            await Assertions.Expect(import.GetByTestId("snapshot-import-error")).ToContainTextAsync("The archive was not imported", new() { Timeout = 30_000 });

            // Deploy the imported snapshot as a new lab: the page follows it until it runs.
            await row.GetByRole(AriaRole.Button, new() { Name = "Deploy imported as a new lab" }).ClickAsync();
            await page.WaitForURLAsync("**/labs/*");
            var restored = Uri.UnescapeDataString(new Uri(page.Url).Segments[^1]);
            try
            {
                await page.WaitForFunctionAsync("() => { const s = document.querySelector('#lab-graph')?.dataset.states; " +
                    "return !!s && Object.values(JSON.parse(s)).length === 2 && Object.values(JSON.parse(s)).every(x => x === 'running'); }",
                    null, new() { Timeout = (float)LabTestSupport.TaskTimeout.TotalMilliseconds });
                Assert.Equal("running", (await api.GetLabAsync(restored, ct)).State);
            }
            finally
            {
                await DestroyAndWaitAsync(api, restored);
            }
        }
        finally
        {
            File.Delete(archive);
        }
    }

    private static async Task DestroyAndWaitAsync(LtbApiClient api, string lab)
    {
        try
        {
            await api.DestroyLabAsync(lab, CancellationToken.None);
        }
        catch (LtbApiException e) when (e.Status == 404)
        {
            return;
        }
        await LabTestSupport.WaitForAsync(async () =>
        {
            try
            {
                await api.GetLabAsync(lab, CancellationToken.None);
                return false;
            }
            catch (LtbApiException e) when (e.Status == 404)
            {
                return true;
            }
        }, $"{lab} destroyed", LabTestSupport.TaskTimeout);
    }
}
