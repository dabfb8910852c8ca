using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Runtime.Tests.Support;

namespace Ltb.Runtime.Tests.Links;

/// <summary>
/// Per backend, on a two-node lab: a link is transparent at layer 2 (STP, LACP and LLDP groups cross it like a cable),
/// link down/up changes the carrier on both ends, a rate limit is applied and removed, destroy leaves nothing.
/// </summary>
public sealed class LinkBackendTests
{
    private static readonly byte[] Src = [0x02, 0x00, 0x00, 0x00, 0x09, 0x01];

    public static TheoryData<LinkBackend> Backends => [LinkBackend.Veth, LinkBackend.LinuxBridge, LinkBackend.Ovs];

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_link_carries_link_local_frames_switches_carrier_limits_rate_and_leaves_nothing(LinkBackend backend)
    {
        await using var lab = await LabUnderTest.RequireAsync(TestLabs.Pair(TestLabs.UniqueName("l2"), backend), TestLabs.TinyImage);
        var (runtime, net, plan) = (lab.Runtime, lab.Net, lab.Plan);
        var status = await lab.DeployAsync(new DeployOptions { OnFailure = FailurePolicy.Rollback });
        Assert.Equal(LabState.Running, status.State);
        Assert.Equal("02:00:00:00:01:01", status.Node("n1").Interfaces.Single(i => i.Name == "eth1").Mac);
        Assert.Equal("02:00:00:00:01:02", status.Node("n2").Interfaces.Single(i => i.Name == "eth1").Mac);
        Assert.Equal(9500, status.Node("n2").Interfaces.Single(i => i.Name == "eth1").Mtu);

        // Layer 2 transparency, both directions.
        using (var n1 = RawFrames.Open($"/run/netns/{Names.Netns(plan.LabName, "n1")}", "eth1"))
        using (var n2 = RawFrames.Open($"/run/netns/{Names.Netns(plan.LabName, "n2")}", "eth1"))
        {
            foreach (var (last, ethertype, what) in new (byte, ushort?, string)[] { (0x00, null, "STP"), (0x02, 0x8809, "LACP"), (0x0e, 0x88cc, "LLDP") })
            {
                byte[] dst = [0x01, 0x80, 0xc2, 0x00, 0x00, last];
                foreach (var (from, to, dir) in new[] { (n1, n2, "n1->n2"), (n2, n1, "n2->n1") })
                {
                    var marker = $"LTB-{what}-{dir}-{Guid.NewGuid():N}"[..30];
                    from.Send(RawFrames.Frame(dst, Src, ethertype, marker));
                    var got = to.Receive(marker, TimeSpan.FromSeconds(3));
                    Assert.True(got is not null, $"{backend}: a {what} frame to 01:80:c2:00:00:{last:x2} did not cross the link {dir}");
                    Assert.Equal(dst, got![..6]);
                }
            }
        }

        // Link down: both ends lose carrier; up: both have it again.
        await runtime.SetLinkStateAsync(plan.LabName, "n1", "eth1", up: false, TestLabs.Ct);
        var down = await TestLabs.EventuallyAsync(() => runtime.InspectAsync(plan.LabName, TestLabs.Ct),
            s => s.Nodes.All(n => !n.Interfaces.Single(i => i.Name == "eth1").Carrier), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(200));
        Assert.All(down.Nodes, n => Assert.False(n.Interfaces.Single(i => i.Name == "eth1").Carrier, $"{n.Name}:eth1 still has carrier"));
        Assert.False(down.Links.Single().Up);
        await runtime.SetLinkStateAsync(plan.LabName, "n2", "eth1", up: true, TestLabs.Ct);
        var up = await TestLabs.EventuallyAsync(() => runtime.InspectAsync(plan.LabName, TestLabs.Ct),
            s => s.Nodes.All(n => n.Interfaces.Single(i => i.Name == "eth1").Carrier), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(200));
        Assert.All(up.Nodes, n => Assert.True(n.Interfaces.Single(i => i.Name == "eth1").Carrier, $"{n.Name}:eth1 has no carrier"));

        // Rate limit (tc tbf on both ends), then removed.
        await runtime.SetLinkRateAsync(plan.LabName, "n1", "eth1", 10_000, TestLabs.Ct);
        foreach (var node in new[] { "n1", "n2" })
        {
            var q = await net.RunAsync("tc", ["-n", Names.Netns(plan.LabName, node), "qdisc", "show", "dev", "eth1"], null, null, TestLabs.Ct);
            Assert.Contains("tbf", q.Stdout);
            Assert.Contains("10Mbit", q.Stdout);
        }
        await runtime.SetLinkRateAsync(plan.LabName, "n1", "eth1", null, TestLabs.Ct);
        var cleared = await net.RunAsync("tc", ["-n", Names.Netns(plan.LabName, "n2"), "qdisc", "show", "dev", "eth1"], null, null, TestLabs.Ct);
        Assert.DoesNotContain("tbf", cleared.Stdout);
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
    }
}
