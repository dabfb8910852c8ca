using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;
using Microsoft.Playwright;

namespace Ltb.Server.Tests.Web;

/// <summary>
/// A VM disk uploaded from the browser on the admin VM images page: the browser hashes the file and streams it straight to
/// POST /api/v1/vm-images with a single-use transfer ticket (never through the circuit); the image is listed on the page
/// and by the API with the file's own checksum; a file that is no disk and a name that exists are refused at the form.
/// </summary>
public sealed partial class WebAdminTests
{
    private const string TinyDisk = "/var/lib/ltb/vm-images/ltb/tinydisk/latest/disk.qcow2";

    [Fact]
    public async Task An_admin_uploads_a_vm_disk_from_the_browser_and_bad_files_are_refused_at_the_form()
    {
        server.Require();
        browser.Require();
        Prerequisite.Require(File.Exists(TinyDisk), $"the tiny disk image ({TinyDisk}; scripts/build-vm-images.sh builds it)");
        var ct = TestContext.Current.CancellationToken;
        var admin = await server.CreateUserAsync("uiup", "admin");
        var page = await browser.NewPageAsync(server.BaseAddress);
        await BrowserFixture.SignInAsync(page, admin.UserName, ServerFixture.UserPassword);
        await page.GotoAsync("admin/vm-images");
        await BrowserFixture.WaitInteractiveAsync(page);
        var form = page.GetByTestId("vm-image-upload");
        var name = ServerFixture.Unique("uiup");

        async Task UploadAsync(string file, string version)
        {
            await form.GetByLabel("Image name").FillAsync(name);
            await form.GetByLabel("Version").FillAsync(version);
            await form.GetByLabel("Node type").ClickAsync();
            await page.GetByRole(AriaRole.Option, new() { Name = "openbsd" }).ClickAsync();
            await form.GetByLabel("Disk file (qcow2 or raw)").SetInputFilesAsync(file);
            await form.GetByTestId("upload-start").ClickAsync();
        }

        // The tiny qcow2: listed on the page, and the API holds it with the file's SHA-256 (the browser computed it).
        await UploadAsync(TinyDisk, "1.0");
        await Assertions.Expect(page.GetByTestId("vm-images")).ToContainTextAsync(name, new() { Timeout = 60_000 });
        var stored = (await server.AdminApi.ListVmImagesAsync(null, ct)).Items.Single(i => i.Name == name);
        Assert.Equal("qcow2", stored.Format);
        Assert.Equal(new FileInfo(TinyDisk).Length, stored.SizeBytes);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(TinyDisk, ct))), stored.Sha256);
        await Assertions.Expect(form.GetByTestId("upload-error")).ToHaveCountAsync(0);

        // The same name and version again: the API's conflict, at the form.
        await UploadAsync(TinyDisk, "1.0");
        await Assertions.Expect(form.GetByTestId("upload-error")).ToContainTextAsync("1.0", new() { Timeout = 60_000 });
        await Assertions.Expect(form.GetByTestId("upload-error")).ToContainTextAsync("[HTTP 409]");

        // A file that is no qcow2 but is named so (1 MiB of zeros): refused in words, nothing added.
        var text = Path.Combine(Path.GetTempPath(), ServerFixture.Unique("notadisk") + ".qcow2");
        await File.WriteAllBytesAsync(text, new byte[1 << 20], ct);
        try
        {
            await UploadAsync(text, "2.0");
            await Assertions.Expect(form.GetByTestId("upload-error")).ToContainTextAsync("was not added", new() { Timeout = 60_000 });
            await Assertions.Expect(form.GetByTestId("upload-error")).ToContainTextAsync("[HTTP 400]");
            await Assertions.Expect(form.GetByTestId("upload-error")).ToContainTextAsync("qcow2");
        }
        finally
        {
            File.Delete(text);
        }
        Assert.DoesNotContain((await server.AdminApi.ListVmImagesAsync(null, ct)).Items, i => i.Name == name && i.Version == "2.0");
        await PageChecks.ScreenshotAsync(page, "admin-vm-images-upload-light");
        await server.AdminApi.DeleteVmImageAsync(stored.Id, ct);

        // A transfer ticket stands for its session on its one method and path, once: no header needed, then refused.
        var ticket = await server.AdminApi.CreateTransferTicketAsync("POST", "/api/v1/vm-images", ct);
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        Assert.Equal(400, (int)(await anonymous.PostAsync(ticket.Url, new ByteArrayContent([]), ct)).StatusCode); // signed in: its parameters missing
        Assert.Equal(401, (int)(await anonymous.PostAsync(ticket.Url, new ByteArrayContent([]), ct)).StatusCode);
        var other = await server.AdminApi.CreateTransferTicketAsync("POST", "/api/v1/vm-images", ct);
        Assert.Equal(401, (int)(await anonymous.PostAsync($"/api/v1/snapshots/import?transfer={other.Ticket}", new ByteArrayContent([]), ct)).StatusCode);
        await Assert.ThrowsAsync<LtbApiException>(() => server.AdminApi.CreateTransferTicketAsync("DELETE", "/api/v1/users", ct));
    }
}
