using System.Net.Http.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// Issue #14 on a remote (simulated) host: an admin adds LTB's tiny disk image to the controller's library with the CLI
/// (`ltb image vm add`, streamed with its SHA-256); a VM lab placed on the remote host gets the disk from the
/// controller through the agent's gRPC stream once (the agent verifies and caches it), boots it, and its serial console
/// works through the agent, as does its VNC display (the `node_display` session of the agent's stream: the RFB handshake
/// and a drawn framebuffer update through the controller's display WebSocket); a second deployment uses the cache;
/// nothing is left on the host after destroy.
/// </summary>
public sealed partial class RemoteVmImageTests(RemoteHostFixture remote) : IClassFixture<RemoteHostFixture>
{
    [Fact]
    public async Task A_vm_lab_on_a_remote_host_boots_a_disk_fetched_from_the_controller_once_and_its_console_works()
    {
        RemoteHostFixture.Require();
        TinyDiskImage.Require();
        var r = remote;
        var ct = TestContext.Current.CancellationToken;
        var name = "vmr" + Guid.NewGuid().ToString("N")[..6];
        var sha = TinyDiskImage.Sha256Of(TinyDiskImage.Path);

        await r.LoginCliAsync();
        (await r.LtbAsync(null, "image", "vm", "add", TinyDiskImage.Path, "--name", $"test/{name}", "--version", "1", "--type", "ltb_tinyvm"))
            .EnsureSuccess("ltb image vm add");
        var listed = (await r.LtbAsync(null, "image", "vm", "list", "-o", "json")).EnsureSuccess("ltb image vm list").Stdout;
        Assert.Contains($"test/{name}:1", listed);
        Assert.Contains(sha, listed);

        var yaml = $$"""
            name: {{name}}
            topology:
              nodes:
                vm1:
                  kind: ltb_tinyvm
                  image: "test/{{name}}:1"
                  labels: {ltb.display: vnc}
            """;
        var cached = Path.Combine(r.Host.Folder, "agent", "vm-images", "test", name, "1", "disk.qcow2");
        await using (var lab = await ServerLab.RunAsync(r.Admin, LabFolderTests.Form(yaml, [], host: r.HostName), r.Host.DockerHost))
        {
            var log = string.Join("\n", (await lab.WaitAsync()).Log);
            Assert.Contains($"sending VM image test/{name}:1", log);
            Assert.Contains("checksum verified there", log);
            Assert.Equal(sha, TinyDiskImage.Sha256Of(cached));

            var console = $"/api/v1/labs/{lab.Id}/nodes/vm1/console";
            var ticket = (await Http.ReadAsync<ConsoleTicketResponse>(await r.Admin.PostAsJsonAsync($"{console}/tickets", new ConsoleTicketRequest(), ct), 200)).Url;
            await using (var serial = await ExecSocketClient.OpenConsoleAsync(new Uri(r.Url), ticket, "&rows=24&cols=80"))
            {
                await serial.SessionAsync();
                await serial.WaitForAsync("ltb-tinyvm ready: tinydisk");
                await serial.TypeAsync("echo remote-$((6*7))\n");
                await serial.WaitForAsync("remote-42");
            }
            using (var display = await RfbClient.ConnectAsync(new Uri(r.Url), $"/api/v1/labs/{lab.Id}/nodes/vm1/vnc/ws",
                r.Admin.DefaultRequestHeaders.Authorization!.Parameter!, "binary", ct))
            {
                await RfbClient.Over(display).DrawnScreenAsync("the remote VM's display", ct);
                await display.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "done", ct);
            }
            await lab.DestroyAsync();
            await lab.AssertNoLeftoversAsync();
        }

        // Again: the host's cache holds that very disk, nothing is sent.
        await using (var again = await ServerLab.RunAsync(r.Admin, LabFolderTests.Form(yaml, [], host: r.HostName), r.Host.DockerHost))
        {
            var log = string.Join("\n", (await again.WaitAsync()).Log);
            Assert.Contains($"VM image test/{name}:1 is in host '{r.HostName}''s cache", log);
            Assert.DoesNotContain("sending VM image", log);
            await again.DestroyAsync();
            await again.AssertNoLeftoversAsync();
        }
        Assert.Empty(Directory.GetDirectories(Path.Combine(r.Host.Folder, "agent", "vm-images"), ".incoming-*"));
    }
}
