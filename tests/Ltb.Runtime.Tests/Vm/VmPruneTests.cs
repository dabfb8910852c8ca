using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes.Vm;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Planning;
using Ltb.Runtime.Tests.Support;
using Ltb.Testing;
using Ltb.Topology;

namespace Ltb.Runtime.Tests.Vm;

/// <summary>
/// Issue #14 with `ltb host prune`: a VM whose node folder was lost under it (its data folder deleted) keeps running
/// where no driver lists it; the host survey finds its QEMU from /proc and prune ends it with its cgroup and sockets.
/// </summary>
public sealed class VmPruneTests
{
    private static readonly string TinyVmKernel = Path.Combine(new RuntimeOptions().EffectiveVmImageDirectory, "ltb", "tinyvm", "latest", "kernel");

    [Fact]
    public async Task A_qemu_whose_node_folder_is_gone_is_found_by_the_host_survey_and_prune_ends_it_with_its_cgroup_and_sockets()
    {
        Prerequisite.Require(File.Exists("/usr/bin/qemu-system-x86_64"), "QEMU (apt-get install qemu-system-x86 qemu-utils)");
        Prerequisite.Require(File.Exists(TinyVmKernel), $"the tiny VM image ({TinyVmKernel}; scripts/build-vm-images.sh builds it)");
        var name = TestLabs.UniqueName("vmorph");
        var loaded = TopologyLoader.LoadText("name: orphan\ntopology:\n  nodes:\n    vm1: {kind: ltb_tinyvm}\n",
            Path.Combine(Path.GetTempPath(), "orphan.clab.yml"), new LoadOptions { Trusted = true, Environment = new Dictionary<string, string>() });
        var plan = LabPlanner.Plan(loaded.Lab!, new PlanningOptions { LabName = name }).Plan!;
        await using var lab = await LabUnderTest.RequireAsync(plan);
        var status = await lab.DeployAsync();
        var pid = status.Node("vm1").Pid!.Value;
        var files = new VmNodeFiles(new RuntimeOptions { StateDirectory = TestLabs.StateDirectory }.EffectiveVmDirectory, name, "vm1");
        Assert.True(Directory.Exists(files.SocketFolder));

        // The data folder is lost: the VM driver no longer knows the node, its QEMU runs on.
        Directory.Delete(Path.GetDirectoryName(files.Folder)!, recursive: true);
        Assert.True(ProcessState.Alive(pid));
        var orphan = Assert.Single(QemuOrphans.Find(), o => o.Pid == pid);
        Assert.Equal((name, "vm1", files.SocketFolder), (orphan.Lab, orphan.Node, orphan.SocketFolder));
        var surveyed = Assert.Single(await lab.Runtime.SurveyHostAsync(TestLabs.Ct), l => l.Lab == name);
        Assert.Contains(surveyed.Objects, o => o.StartsWith($"qemu pid {pid} (node vm1", StringComparison.Ordinal));

        await lab.Runtime.PruneAsync(surveyed, TestLabs.Ct);

        Assert.False(ProcessState.Alive(pid), "prune left the orphaned QEMU running");
        Assert.DoesNotContain(QemuOrphans.Find(), o => o.Lab == name);
        Assert.False(Directory.Exists(files.SocketFolder));
        var cgroup = Directory.Exists("/sys/fs/cgroup/memory") ? "/sys/fs/cgroup/memory/ltb-vm" : "/sys/fs/cgroup/ltb-vm";
        Assert.False(Directory.Exists(Path.Combine(cgroup, VmNodes.CgroupName(files))), "prune left the VM's cgroup");
        Assert.DoesNotContain(await lab.Runtime.SurveyHostAsync(TestLabs.Ct), l => l.Lab == name);
        await lab.AssertNoLeftoversAsync();
    }
}
