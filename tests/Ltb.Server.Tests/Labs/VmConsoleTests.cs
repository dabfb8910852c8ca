using System.Net.Http.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// Issue #14 through the server: a student deploys a lab with LTB's tiny VM (a QEMU node, TCG here), its status shows
/// it running with its management address, and its type's console (serial) opens through the console endpoint: the
/// end of the boot log first, then a shell that takes input.
/// </summary>
public sealed class VmConsoleTests(SqliteServer server) : IClassFixture<SqliteServer>
{
    private const string TinyVmKernel = "/var/lib/ltb/vm-images/ltb/tinyvm/latest/kernel";

    [Fact]
    public async Task A_students_vm_node_runs_and_its_serial_console_shows_the_boot_and_takes_input()
    {
        LabTestSupport.RequireDocker();
        Prerequisite.Require(File.Exists("/usr/bin/qemu-system-x86_64"), "QEMU (apt-get install qemu-system-x86 qemu-utils)");
        Prerequisite.Require(File.Exists(TinyVmKernel), $"the tiny VM image ({TinyVmKernel}; scripts/build-vm-images.sh builds it)");
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var student = await server.CreateUserAsync("vmc");
        using var owner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        await using var lab = await ServerLab.RunAsync(owner, $$"""
            name: {{ServerFixture.Unique("vmc")}}
            topology:
              nodes:
                vm1: {kind: ltb_tinyvm}
            """);

        var status = await Http.ReadAsync<LabDto>(await owner.GetAsync($"/api/v1/labs/{lab.Id}", ct), 200);
        var vm = Assert.Single(status.Nodes);
        Assert.Equal(("vm1", "ltb_tinyvm", "running"), (vm.Name, vm.Kind, vm.State.ToLowerInvariant()));
        Assert.False(string.IsNullOrEmpty(vm.MgmtIpv4));

        var console = $"/api/v1/labs/{lab.Id}/nodes/vm1/console";
        var ticket = (await Http.ReadAsync<ConsoleTicketResponse>(await owner.PostAsJsonAsync($"{console}/tickets", new ConsoleTicketRequest(), ct), 200)).Url;
        await using var serial = await ExecSocketClient.OpenConsoleAsync(server.BaseAddress, ticket, "&rows=24&cols=80");
        await serial.SessionAsync();
        await serial.WaitForAsync("ltb-tinyvm ready: vm1");
        await serial.TypeAsync("echo marker-$((6*7)) on $(hostname)\n");
        await serial.WaitForAsync("marker-42 on vm1");
        var listed = Assert.Single(await Http.ReadAsync<List<ConsoleSessionDto>>(await owner.GetAsync($"{console}/sessions", ct), 200));
        Assert.Equal("serial", listed.Target);

        // QEMU serves its serial line to one client: the owner's next console takes the open session over (as after a
        // closed tab, within the grace period) instead of waiting for it; another user's new console is refused (409).
        var next = (await Http.ReadAsync<ConsoleTicketResponse>(await owner.PostAsJsonAsync($"{console}/tickets", new ConsoleTicketRequest(), ct), 200)).Url;
        await using var again = await ExecSocketClient.OpenConsoleAsync(server.BaseAddress, next, "&rows=24&cols=80");
        Assert.Equal(listed.Id, await again.SessionAsync());
        await again.TypeAsync("echo again-$((6*7))\n");
        await again.WaitForAsync("again-42");
        var admins = (await Http.ReadAsync<ConsoleTicketResponse>(await server.Admin.PostAsJsonAsync($"{console}/tickets", new ConsoleTicketRequest(), ct), 200)).Url;
        Assert.Contains("409", (await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() =>
            ExecSocketClient.OpenConsoleAsync(server.BaseAddress, admins, "&rows=24&cols=80"))).Message);
    }
}
