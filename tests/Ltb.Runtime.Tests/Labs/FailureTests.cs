using Ltb.Runtime.Labs;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Runtime.Tests.Support;

namespace Ltb.Runtime.Tests.Labs;

/// <summary>Failures a user can cause end in a clear message naming lab, node and cause, and leave nothing (or a destroyable failed lab).</summary>
public sealed class FailureTests
{
    [Fact]
    public async Task A_missing_image_names_image_node_and_lab_and_rollback_leaves_nothing()
    {
        var plan = TestLabs.Pair(TestLabs.UniqueName("noimg"), LinkBackend.Veth) is var p
            ? p with { Nodes = [TestLabs.Tiny("n1"), TestLabs.Tiny("n2") with { Image = "ltb/does-not-exist:0.1" }] }
            : null!;
        await using var lab = await LabUnderTest.RequireAsync(plan, TestLabs.TinyImage);
        var e = await Assert.ThrowsAsync<LabRuntimeException>(() => lab.DeployAsync(new DeployOptions { OnFailure = FailurePolicy.Rollback }));
        Assert.Contains("ltb/does-not-exist:0.1", e.Message);
        Assert.Contains("n2", e.Message);
        Assert.Contains(plan.LabName, e.Message);
        Assert.Equal("n2", e.Node);
        await lab.AssertNoLeftoversAsync();
    }

    [Fact]
    public async Task A_node_that_exits_at_once_is_named_with_its_exit_code_and_output_and_the_failed_lab_destroys_cleanly()
    {
        var plan = TestLabs.Pair(TestLabs.UniqueName("exits"), LinkBackend.Veth) is var p
            ? p with { Nodes = [TestLabs.Tiny("n1"), TestLabs.Tiny("n2") with { Cmd = ["sh", "-c", "echo boom-from-n2; exit 3"] }] }
            : null!;
        await using var lab = await LabUnderTest.RequireAsync(plan, TestLabs.TinyImage);
        var e = await Assert.ThrowsAsync<LabRuntimeException>(() => lab.DeployAsync(new DeployOptions { OnFailure = FailurePolicy.KeepFailed }));
        Assert.Equal("n2", e.Node);
        Assert.Contains(plan.LabName, e.Message);
        Assert.Contains("exit code 3", e.Message);
        Assert.Contains("boom-from-n2", e.Message);
        Assert.Equal(LabState.Failed, e.Status?.State);
        var status = await lab.Runtime.InspectAsync(plan.LabName, TestLabs.Ct);
        Assert.Equal(LabState.Failed, status.State);
        Assert.Contains(status.Nodes, n => n.Name == "n1");
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
    }

    [Fact]
    public async Task A_failing_exec_command_names_node_command_and_exit_code_and_rolls_back()
    {
        var plan = TestLabs.Pair(TestLabs.UniqueName("exec"), LinkBackend.Veth) is var p
            ? p with { Nodes = [TestLabs.Tiny("n1") with { Exec = [ExecCommand.Sh("ip link set eth1 up"), ExecCommand.Sh("ip link set nosuchif up")] }, TestLabs.Tiny("n2")] }
            : null!;
        await using var lab = await LabUnderTest.RequireAsync(plan, TestLabs.TinyImage);
        var e = await Assert.ThrowsAsync<LabRuntimeException>(() => lab.DeployAsync(new DeployOptions { OnFailure = FailurePolicy.Rollback }));
        Assert.Equal("n1", e.Node);
        Assert.Contains("ip link set nosuchif up", e.Message);
        Assert.Contains("exit code", e.Message);
        Assert.Equal(LabState.Absent, e.Status?.State);
        await lab.AssertNoLeftoversAsync();
    }

    [Fact]
    public async Task Deploying_a_lab_whose_name_is_running_is_refused_and_the_running_lab_is_untouched()
    {
        await using var lab = await LabUnderTest.RequireAsync(TestLabs.Pair(TestLabs.UniqueName("clash"), LinkBackend.Veth), TestLabs.TinyImage);
        var first = await lab.DeployAsync();
        var e = await Assert.ThrowsAsync<LabRuntimeException>(() => lab.DeployAsync(new DeployOptions { OnFailure = FailurePolicy.Rollback }));
        Assert.Contains(lab.Name, e.Message);
        Assert.Contains("already deployed", e.Message);
        var after = await lab.Runtime.InspectAsync(lab.Name, TestLabs.Ct);
        Assert.Equal(LabState.Running, after.State);
        Assert.Equal(first.Nodes.Select(n => n.ContainerId), after.Nodes.Select(n => n.ContainerId));
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
    }

    [Fact]
    public async Task Privileged_where_the_host_refuses_it_fails_with_a_clear_message_and_nothing_left()
    {
        await using var lab = await LabUnderTest.RequireAsync(
            new LabPlan { LabName = TestLabs.UniqueName("priv"), Nodes = [TestLabs.Tiny("n1") with { Privileged = true }] }, TestLabs.TinyImage);
        try
        {
            var status = await lab.DeployAsync(new DeployOptions { OnFailure = FailurePolicy.Rollback });
            // This host allows privileged containers: then the node simply runs.
            Assert.Equal(LabState.Running, status.State);
        }
        catch (LabRuntimeException e)
        {
            Assert.Equal("n1", e.Node);
            Assert.Contains("privileged mode is refused by this host", e.Message);
            Assert.Contains("capability", e.Message);
        }
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
    }

    [Fact]
    public async Task A_dummy_link_works_or_names_the_missing_kernel_module()
    {
        await using var lab = await LabUnderTest.RequireAsync(new LabPlan
        {
            LabName = TestLabs.UniqueName("dummy"),
            Nodes = [TestLabs.Tiny("n1")],
            Links = [new LinkPlan { Type = LinkType.Dummy, A = new LinkEndpoint("n1", "dummy0") }],
        }, TestLabs.TinyImage);
        if (await lab.Net.SupportsLinkKindAsync("dummy", TestLabs.Ct))
        {
            var status = await lab.DeployAsync();
            Assert.Contains(status.Node("n1").Interfaces, i => i.Name == "dummy0");
        }
        else
        {
            var e = await Assert.ThrowsAsync<LabRuntimeException>(() => lab.DeployAsync());
            Assert.Contains("dummy", e.Message);
            Assert.Contains("kernel module", e.Message);
            Assert.Contains("n1:dummy0", e.Message);
        }
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
    }
}
