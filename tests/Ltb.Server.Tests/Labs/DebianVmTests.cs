using System.Net.Http.Json;
using Ltb.Client;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// Issue #14's done-when test with a real guest: LTB's Debian VM image (systemd, cloud-init, OpenSSH; built by
/// scripts/build-vm-images.sh) under QEMU (TCG here) beside an FRR container, joined by a link. cloud-init configures the
/// VM from its node's settings (management address LTB allocated, data address from env, user-data from its
/// startup-config); the two ping each other; exec runs over SSH with the key LTB injected (API and CLI); the serial
/// console shows the boot and takes a login; a restart keeps the link; destroy leaves nothing. One class, one guest:
/// its boot is the expensive part (CI runs on two cores).
/// </summary>
public sealed class DebianVmTests(SqliteServer server) : IClassFixture<SqliteServer>
{
    private const string DebianDisk = "/var/lib/ltb/vm-images/ltb/debian/latest/disk.qcow2";
    private const string UserDataMarker = "written by cloud-init from the startup-config";

    private static string Topology(string name) => $$"""
        name: {{name}}
        topology:
          nodes:
            r1:
              kind: frr
              exec: ["ip addr add 10.0.0.1/24 dev eth1"]
            vm1:
              kind: ltb_debian
              env: {IP_eth1: 10.0.0.2/24}
              startup-config: |
                #cloud-config
                write_files:
                  - path: /root/ltb-user-data
                    content: "{{UserDataMarker}}"
          links:
            - endpoints: ["r1:eth1", "vm1:eth1"]
        """;

    [Fact]
    public async Task A_debian_vm_configured_by_cloud_init_pings_an_frr_container_runs_exec_over_ssh_takes_a_console_login_restarts_and_leaves_nothing()
    {
        LabTestSupport.RequireDocker();
        Prerequisite.Require(File.Exists("/usr/bin/qemu-system-x86_64"), "QEMU (apt-get install qemu-system-x86 qemu-utils)");
        Prerequisite.Require(File.Exists(DebianDisk), $"the Debian VM image ({DebianDisk}; scripts/build-vm-images.sh builds it)");
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var admin = server.Admin;
        await using var lab = await ServerLab.StartAsync(admin, Topology(ServerFixture.Unique("deb")));
        var deployed = await WaitAsync(lab.Accepted.Task.Id);
        Assert.True(deployed.State == "succeeded", $"the deployment: {deployed.Error}\n{string.Join('\n', deployed.Log)}");

        var status = await Http.ReadAsync<LabDto>(await admin.GetAsync($"/api/v1/labs/{lab.Id}", ct), 200);
        var vm = status.Nodes.Single(n => n.Name == "vm1");
        Assert.Equal(("ltb_debian", "running"), (vm.Kind, vm.State.ToLowerInvariant()));
        var mgmt = vm.MgmtIpv4!.Split('/')[0];

        // cloud-init configured the guest from the node's settings: data address (env), management address (LTB's), user-data.
        await AssertPingsAsync(lab, "r1", "10.0.0.2");
        await AssertPingsAsync(lab, "vm1", "10.0.0.1");
        Assert.Contains("inet 10.0.0.2/24", (await ExecAsync(lab, "vm1", "ip", "-4", "-o", "addr", "show", "dev", "eth1")).Stdout);
        Assert.Contains($"inet {mgmt}/", (await ExecAsync(lab, "vm1", "ip", "-4", "-o", "addr", "show", "dev", "eth0")).Stdout);
        Assert.Equal(UserDataMarker, (await ExecAsync(lab, "vm1", "cat", "/root/ltb-user-data")).Stdout.Trim());
        Assert.Equal("vm1", (await ExecAsync(lab, "vm1", "hostname")).Stdout.Trim());
        Assert.Contains("status: done", (await ExecAsync(lab, "vm1", "cloud-init", "status")).Stdout);

        // Exec over SSH as the node type says (root, LTB's key): an argument vector arrives word for word, exit codes come back.
        var word = "it's \"one\" word; $HOME `id` *";
        Assert.Equal(word, (await ExecAsync(lab, "vm1", "printf", "%s", word)).Stdout);
        var failing = await Http.ReadAsync<ExecResponse>(await admin.PostAsJsonAsync($"/api/v1/labs/{lab.Id}/exec",
            new ExecRequest("vm1", ["sh", "-c", "echo oops >&2; exit 3"]), ct), 200);
        Assert.Equal((3L, "oops\n"), (failing.ExitCode, failing.Stderr));
        var cli = await CliAsync(lab.Name, "vm1", "--", "sh", "-c", "id -un; grep ^VERSION_CODENAME= /etc/os-release");
        Assert.True(cli.ExitCode == 0, cli.Stderr + cli.Stdout);
        Assert.Equal("root\nVERSION_CODENAME=bookworm", cli.Stdout.Trim());
        Assert.Equal(4, (await CliAsync(lab.Name, "vm1", "--", "sh", "-c", "exit 4")).ExitCode);

        await AssertConsoleLoginAsync(lab);

        // A restart (ACPI power-down, a new QEMU in a new namespace) keeps the link and the guest's host key.
        // The answer comes once the guest is ready again: minutes under emulation, past HttpClient's default 100 s.
        using var patient = server.WithToken(await server.LoginTokenAsync("admin", ServerFixture.AdminPassword));
        patient.Timeout = TimeSpan.FromMinutes(12);
        var restarted = await Http.ReadAsync<LabNodeDto>(await patient.PostAsync($"/api/v1/labs/{lab.Id}/nodes/vm1/restart", null, ct), 200);
        Assert.Equal("running", restarted.State.ToLowerInvariant());
        await AssertPingsAsync(lab, "r1", "10.0.0.2");
        await AssertPingsAsync(lab, "vm1", "10.0.0.1");

        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
        Assert.Empty(QemuProcesses(lab.RuntimeName));
        Assert.DoesNotContain(lab.RuntimeName, (await HostCommand.RunAsync("ip", "netns", "list")).Stdout);
        // The node's folder (overlay, seed, exec key, console log) and its sockets' folder are gone.
        var files = new Ltb.Runtime.Nodes.Vm.VmNodeFiles(Path.Combine(server.DataDirectory, "vms"), lab.RuntimeName, "vm1");
        Assert.False(Directory.Exists(files.Folder), $"{files.Folder} is left");
        Assert.False(Directory.Exists(files.SocketFolder), $"{files.SocketFolder} is left");
    }

    /// <summary>The serial console replays the end of the boot, then getty takes a login as root (test image: no password).</summary>
    private async Task AssertConsoleLoginAsync(ServerLab lab)
    {
        var ct = TestContext.Current.CancellationToken;
        var tickets = $"/api/v1/labs/{lab.Id}/nodes/vm1/console/tickets";
        var ticket = (await Http.ReadAsync<ConsoleTicketResponse>(await server.Admin.PostAsJsonAsync(tickets, new ConsoleTicketRequest(), ct), 200)).Url;
        await using var serial = await ExecSocketClient.OpenConsoleAsync(server.BaseAddress, ticket, "&rows=24&cols=80");
        await serial.SessionAsync();
        await serial.WaitForAsync("ltb-debian ready");
        Assert.Contains("Cloud-init", serial.Output, StringComparison.OrdinalIgnoreCase);
        await serial.TypeAsync("\n");
        await serial.WaitForAsync("vm1 login:");
        await serial.TypeAsync("root\n");
        await serial.WaitForAsync("root@vm1");
        await serial.TypeAsync("echo console-$((6*7)) $(id -un)\n");
        await serial.WaitForAsync("console-42 root");
        await serial.TypeAsync("exit\n");
    }

    /// <summary>
    /// Waits for a lab task with the budget of the guest's readiness under TCG (200 s x 3): a systemd and cloud-init boot
    /// under emulation on a loaded two-core runner outlasts the tests' usual five minutes.
    /// </summary>
    private async Task<LabTaskDto> WaitAsync(Guid task)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(12));
        using var api = new LtbApiClient(server.Admin);
        while (true)
        {
            var t = await api.GetTaskAsync(task, timeout.Token);
            if (t.State is "succeeded" or "failed" or "interrupted")
            {
                return t;
            }
            await Task.Delay(1000, timeout.Token);
        }
    }

    private async Task<ExecResponse> ExecAsync(ServerLab lab, string node, params string[] argv)
    {
        var client = server.Admin;
        var r = await Http.ReadAsync<ExecResponse>(await client.PostAsJsonAsync($"/api/v1/labs/{lab.Id}/exec", new ExecRequest(node, argv),
            TestContext.Current.CancellationToken), 200);
        Assert.True(r.ExitCode == 0, $"{node}: {string.Join(' ', argv)} exited {r.ExitCode}: {r.Stdout}{r.Stderr}");
        return r;
    }

    private async Task AssertPingsAsync(ServerLab lab, string node, string address)
    {
        // A card may still be coming up (networkd, the restarted guest): a few tries.
        var client = server.Admin;
        ExecResponse? r = null;
        for (var i = 0; i < 15 && r?.ExitCode != 0; i++)
        {
            r = await Http.ReadAsync<ExecResponse>(await client.PostAsJsonAsync($"/api/v1/labs/{lab.Id}/exec",
                new ExecRequest(node, ["ping", "-c", "2", "-W", "2", address]), TestContext.Current.CancellationToken), 200);
        }
        Assert.True(r!.ExitCode == 0, $"{node} did not reach {address}: {r.Stdout}{r.Stderr}");
    }

    private async Task<HostCommand.Result> CliAsync(string lab, params string[] args)
    {
        var env = Ltb.Server.Tests.Cli.ServeProcess.HomeEnvironment(Directory.CreateTempSubdirectory("ltb-debvm-home-").FullName);
        env["LTB_SERVER"] = server.BaseAddress.ToString();
        env["LTB_TOKEN"] = await server.LoginTokenAsync("admin", ServerFixture.AdminPassword);
        return await HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), ["lab", "exec", lab, .. args], TimeSpan.FromMinutes(6), env);
    }

    /// <summary>QEMU processes of the lab (their -name is guest=ltb-LAB-NODE).</summary>
    private static List<string> QemuProcesses(string runtimeName) =>
        Directory.GetDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)).Select(d =>
        {
            try
            {
                return File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' ');
            }
            catch (IOException)
            {
                return "";
            }
        }).Where(c => c.Contains($"guest=ltb-{runtimeName}-", StringComparison.Ordinal)).ToList();
}
