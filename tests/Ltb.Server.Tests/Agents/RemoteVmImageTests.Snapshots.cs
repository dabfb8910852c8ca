using System.Net.Http.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;

namespace Ltb.Server.Tests.Agents;

public sealed partial class RemoteVmImageTests
{
    /// <summary>
    /// Issue #15 for a VM on a remote (simulated) host: snapshotted there with memory (its disk and RAM state cross the
    /// agent's stream into the controller's store), destroyed, and restored on that host through the CLI. The saved disk and
    /// RAM state go to the host ahead of the deployment, in parts (PutLabFiles: they outgrow one message of the deploy
    /// call); the guest resumes with what it held only in RAM and its boot unchanged; the agent keeps nothing of the upload.
    /// </summary>
    [Fact]
    public async Task A_vm_on_a_remote_host_snapshotted_with_memory_resumes_there_after_destroy()
    {
        RemoteHostFixture.Require();
        TinyDiskImage.Require();
        var r = remote;
        var ct = TestContext.Current.CancellationToken;
        var name = "vmm" + Guid.NewGuid().ToString("N")[..6];
        await r.LoginCliAsync();
        (await r.LtbAsync(null, "image", "vm", "add", TinyDiskImage.Path, "--name", $"test/{name}", "--version", "1", "--type", "ltb_tinyvm"))
            .EnsureSuccess("ltb image vm add");
        var yaml = $$"""
            name: {{name}}
            topology:
              nodes:
                vm1: {kind: ltb_tinyvm, image: "test/{{name}}:1"}
            """;
        await using (var lab = await ServerLab.RunAsync(r.Admin, LabFolderTests.Form(yaml, [], host: r.HostName), r.Host.DockerHost))
        {
            await using (var serial = await ConsoleAsync(lab.Id))
            {
                await serial.WaitForAsync("ltb-tinyvm ready: tinydisk");
                await serial.TypeAsync("cat /proc/sys/kernel/random/boot_id > /tmp/boot-id; echo remote-ram-$((6*7)) > /tmp/ram-only; echo kept-$((6*7))\n");
                await serial.WaitForAsync("kept-42");
            }
            (await r.LtbAsync(null, "lab", "snapshot", "create", name, "mem", "--memory")).EnsureSuccess("ltb lab snapshot create --memory");
            await lab.DestroyAsync();
            await lab.AssertNoLeftoversAsync();
        }

        var restoredName = name + "r";
        var restore = await r.LtbAsync(null, "lab", "snapshot", "restore", $"{name}/mem", "--name", restoredName, "--host", r.HostName);
        Assert.True(restore.ExitCode == 0, restore.Stderr + restore.Stdout + "\nagent:\n" + r.AgentOutput);
        var restored = await Http.ReadAsync<LabDto>(await r.Admin.GetAsync($"/api/v1/labs/{restoredName}", ct), 200);
        Assert.Equal(r.HostName, restored.Host);
        await using (var serial = await ConsoleAsync(restored.Id))
        {
            await serial.TypeAsync("cat /tmp/ram-only; test \"$(cat /proc/sys/kernel/random/boot_id)\" = \"$(cat /tmp/boot-id)\" && echo same-boot-$((6*7))\n");
            await serial.WaitForAsync("remote-ram-42");
            await serial.WaitForAsync("same-boot-42");
        }
        var uploads = Path.Combine(r.Host.Folder, "agent", "files", ".uploads");
        Assert.True(Directory.Exists(uploads), "the lab's files went ahead of the deployment (PutLabFiles)");
        Assert.Empty(Directory.GetFiles(uploads));
        (await r.LtbAsync(null, "lab", "destroy", restoredName)).EnsureSuccess("ltb lab destroy");
        (await r.LtbAsync(null, "lab", "snapshot", "delete", $"{name}/mem")).EnsureSuccess("ltb lab snapshot delete");
    }

    private async Task<ExecSocketClient> ConsoleAsync(Guid lab)
    {
        var console = $"/api/v1/labs/{lab}/nodes/vm1/console";
        var ticket = (await Http.ReadAsync<ConsoleTicketResponse>(await remote.Admin.PostAsJsonAsync($"{console}/tickets", new ConsoleTicketRequest()), 200)).Url;
        var serial = await ExecSocketClient.OpenConsoleAsync(new Uri(remote.Url), ticket, "&rows=24&cols=80");
        await serial.SessionAsync();
        return serial;
    }
}
