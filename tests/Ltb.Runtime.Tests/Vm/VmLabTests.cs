using System.Text;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Planning;
using Ltb.Runtime.Status;
using Ltb.Runtime.Tests.Support;
using Ltb.Testing;
using Ltb.Topology;
using Ltb.Topology.Catalog;

namespace Ltb.Runtime.Tests.Vm;

/// <summary>
/// VM nodes with real QEMU (TCG here: this machine's KVM cannot run guests) booting LTB's tiny VM image
/// (scripts/build-vm-images.sh), beside a container, joined by a link the ordinary wiring makes.
/// </summary>
public sealed class VmLabTests
{
    private static readonly string TinyVmKernel = Path.Combine(new RuntimeOptions().EffectiveVmImageDirectory, "ltb", "tinyvm", "latest", "kernel");

    private static void RequireQemu()
    {
        Prerequisite.Require(File.Exists("/usr/bin/qemu-system-x86_64"), "QEMU (apt-get install qemu-system-x86 qemu-utils)");
        Prerequisite.Require(File.Exists(TinyVmKernel), $"the tiny VM image ({TinyVmKernel}; scripts/build-vm-images.sh builds it)");
    }

    /// <summary>A container and a tiny VM, planned from a topology as a user writes it.</summary>
    private static LabPlan ContainerAndVm(string lab)
    {
        var yaml = """
            name: vmlab
            topology:
              nodes:
                c1:
                  kind: linux
                  image: ltb/tiny:latest
                  exec: ["ip addr add 10.0.0.1/24 dev eth1"]
                vm1:
                  kind: ltb_tinyvm
                  env: {IP_eth1: 10.0.0.2/24}
              links:
                - endpoints: ["c1:eth1", "vm1:eth1"]
            """;
        var loaded = TopologyLoader.LoadText(yaml, Path.Combine(Path.GetTempPath(), "vmlab.clab.yml"), new LoadOptions { Trusted = true, Environment = new Dictionary<string, string>() });
        Assert.False(loaded.HasErrors, string.Join("\n", loaded.Diagnostics));
        var planned = LabPlanner.Plan(loaded.Lab!, new PlanningOptions { LabName = lab });
        return planned.Plan ?? throw new InvalidOperationException(string.Join('\n', planned.Errors));
    }

    [Fact]
    public async Task A_vm_and_a_container_ping_over_a_link_the_console_works_a_restart_keeps_the_link_and_destroy_leaves_nothing()
    {
        RequireQemu();
        await using var lab = await LabUnderTest.RequireAsync(ContainerAndVm(TestLabs.UniqueName("vm")), TestLabs.TinyImage);

        var status = await lab.DeployAsync(new DeployOptions { MaxParallelism = 2 });

        var vm = status.Node("vm1");
        Assert.Equal(NodeState.Running, vm.State);
        Assert.NotNull(vm.MgmtIpv4);
        Assert.Contains(lab.Events, e => e.Kind == RuntimeEventKind.Warning && e.Message.Contains("TCG", StringComparison.Ordinal));
        // QEMU runs in a cgroup of its own with the node's limits (memory: the guest's 256 MiB plus QEMU's 192 MiB).
        Assert.Contains("ltb-vm/", await File.ReadAllTextAsync($"/proc/{vm.Pid}/cgroup", TestLabs.Ct), StringComparison.Ordinal);
        var stats = await lab.Runtime.NodeStatsAsync(lab.Name, "vm1", TestLabs.Ct);
        Assert.Equal((ulong)((256L + 192) << 20), stats.MemoryLimitBytes);
        Assert.InRange(stats.MemoryBytes, 16UL << 20, (256UL + 192) << 20);
        Assert.True(stats.CpuNanoseconds > 0 && stats.Pids > 0, $"cpu {stats.CpuNanoseconds} ns, {stats.Pids} pids");
        // Device information: a VM booted from a kernel has no disk to write (a disk guest's overlay: VmImageLibraryTests).
        var described = await lab.Runtime.DescribeNodeAsync(lab.Name, "vm1", TestLabs.Ct);
        Assert.Equal(0, described.DiskBytes);
        Assert.InRange(described.StartedAt!.Value, DateTimeOffset.UtcNow.AddMinutes(-10), DateTimeOffset.UtcNow.AddMinutes(1));
        // The container reaches the VM over the link, and the host reaches it on its management address.
        await AssertPingsAsync(lab, "c1", "10.0.0.2");
        var mgmt = await lab.Net.RunAsync("ping", ["-c", "2", "-W", "3", vm.MgmtIpv4!.Split('/')[0]], null, TimeSpan.FromSeconds(20), TestLabs.Ct);
        Assert.True(mgmt.Succeeded, $"the host did not reach the VM's management address {vm.MgmtIpv4}: {mgmt.Stdout}{mgmt.Stderr}");

        // The serial console: the boot log first, then a shell that takes input; the VM pings back over the link.
        await using (var console = await lab.Runtime.OpenConsoleAsync(lab.Name, "vm1", new TerminalSize(24, 80), TestLabs.Ct))
        {
            var boot = await ReadUntilAsync(console, "ltb-tinyvm ready", TimeSpan.FromSeconds(10));
            Assert.Contains("Run /init as init process", boot, StringComparison.Ordinal); // the kernel's boot messages
            await console.WriteAsync(Encoding.ASCII.GetBytes("ping -c 2 -W 3 10.0.0.1 && echo PING-OK-$((40+2))\n"), TestLabs.Ct);
            await ReadUntilAsync(console, "PING-OK-42", TimeSpan.FromSeconds(60));
        }

        // Restart: QEMU stops (ACPI power-down), starts in a new namespace, the link's end moves there and works again.
        var before = vm.Pid;
        var restarted = await lab.Runtime.RestartNodeAsync(lab.Name, "vm1", TestLabs.Ct);
        Assert.Equal(NodeState.Running, restarted.State);
        Assert.NotEqual(before, restarted.Pid);
        await AssertPingsAsync(lab, "c1", "10.0.0.2");

        var qemuPid = restarted.Pid!.Value;
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
        Assert.False(Ltb.Runtime.Nodes.Vm.ProcessState.Alive(qemuPid), "the VM's QEMU still runs after destroy");
    }

    [Fact]
    public async Task A_vm_that_never_becomes_ready_fails_at_its_timeout_naming_node_and_check_and_leaves_nothing()
    {
        RequireQemu();
        var plan = ContainerAndVm(TestLabs.UniqueName("vmnr"));
        plan = plan with
        {
            Nodes = plan.Nodes.Select(n => n.Vm is null ? n : n with { Vm = n.Vm with { ReadyLog = "^this line is never printed", ReadyTimeoutSeconds = 4 } }).ToList(),
        };
        await using var lab = await LabUnderTest.RequireAsync(plan, TestLabs.TinyImage);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<LabRuntimeException>(() => lab.DeployAsync(new DeployOptions { OnFailure = FailurePolicy.Rollback }));

        Assert.Equal("vm1", e.Node);
        Assert.Contains("was not ready within 12 s", e.Message, StringComparison.Ordinal); // 4 s x 3 under TCG
        Assert.Contains("never printed a line matching '^this line is never printed'", e.Message, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(120));
        await lab.AssertNoLeftoversAsync();
    }

    private static async Task AssertPingsAsync(LabUnderTest lab, string node, string address)
    {
        // The guest may still be bringing its card up: a few tries.
        ExecResult? r = null;
        for (var i = 0; i < 10 && r?.Succeeded != true; i++)
        {
            r = await lab.Runtime.ExecAsync(lab.Name, node, ["ping", "-c", "2", "-W", "2", address], TimeSpan.FromSeconds(30), 64 * 1024, TestLabs.Ct);
        }
        Assert.True(r!.Succeeded, $"{node} did not reach {address}: {r.Stdout}{r.Stderr}");
    }

    /// <summary>Reads the console until <paramref name="text"/> appeared; fails with what it read when it does not in time.</summary>
    internal static async Task<string> ReadUntilAsync(IExecSession console, string text, TimeSpan timeout)
    {
        var seen = new StringBuilder();
        var buffer = new byte[4096];
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(TestLabs.Ct);
        limit.CancelAfter(timeout);
        try
        {
            while (!seen.ToString().Contains(text, StringComparison.Ordinal))
            {
                var (_, n) = await console.ReadAsync(buffer, limit.Token);
                Assert.True(n > 0, $"the console ended before '{text}'; it showed: {seen}");
                seen.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
        catch (OperationCanceledException) when (!TestLabs.Ct.IsCancellationRequested)
        {
            Assert.Fail($"the console did not show '{text}' within {timeout.TotalSeconds:0} s; it showed: {seen}");
        }
        return seen.ToString();
    }
}
