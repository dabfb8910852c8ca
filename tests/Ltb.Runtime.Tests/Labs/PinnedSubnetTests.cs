using Ltb.Runtime.Labs;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Runtime.Tests.Support;

namespace Ltb.Runtime.Tests.Labs;

/// <summary>
/// A pinned management subnet never overlaps the host's addresses and routes or another lab's network, whoever wrote it
/// (the plans here are trusted, as an administrator's): the deploy is refused naming the subnet and what it overlaps,
/// and nothing is created. A subnet that overlaps nothing deploys. A plan that is not trusted cannot name a network.
/// </summary>
public sealed class PinnedSubnetTests
{
    private static LabPlan Pinned(string lab, string subnet, string? gateway = null) => new()
    {
        LabName = lab,
        Trusted = true,
        Mgmt = new MgmtNetworkPlan { Ipv4Subnet = subnet, Ipv4Gateway = gateway },
        Nodes = [TestLabs.Tiny("n1")],
    };

    [Fact]
    public async Task An_overlapping_pinned_subnet_is_refused_for_an_admin_too_and_a_free_one_deploys()
    {
        var third = Random.Shared.Next(10, 250);
        var route = $"10.249.{third}.0/24";
        await using var fixture = await LabUnderTest.RequireAsync(Pinned(TestLabs.UniqueName("ps"), $"10.248.{third}.0/24"), TestLabs.TinyImage);
        var (runtime, net, first) = (fixture.Runtime, fixture.Net, fixture.Plan);
        var refused = new List<LabPlan>();
        await net.RunAsync("ip", ["route", "add", "blackhole", route], null, null, TestLabs.Ct);
        try
        {
            // A subnet that overlaps nothing deploys.
            var status = await fixture.DeployAsync();
            Assert.Equal(LabState.Running, status.State);
            Assert.Equal($"10.248.{third}.0/24", status.MgmtIpv4Subnet);

            // A host route (added by the test), inside or around the pinned subnet.
            foreach (var subnet in new[] { route, $"10.249.{third}.128/25", $"10.249.{third - third % 2}.0/23" })
            {
                var plan = Pinned(TestLabs.UniqueName("ps"), subnet);
                refused.Add(plan);
                var e = await Assert.ThrowsAsync<LabRuntimeException>(() => runtime.DeployAsync(plan, null, null, TestLabs.Ct));
                Assert.Contains($"the management subnet {subnet} overlaps the host's route to {route}", e.Message);
                Assert.Contains("leave mgmt ipv4-subnet out", e.Message);
            }

            // The host's own address (the loopback's) and another lab's network.
            var loopback = Pinned(TestLabs.UniqueName("ps"), "127.0.0.0/24");
            refused.Add(loopback);
            var own = await Assert.ThrowsAsync<LabRuntimeException>(() => runtime.DeployAsync(loopback, null, null, TestLabs.Ct));
            Assert.Contains("the management subnet 127.0.0.0/24 overlaps the host's", own.Message);
            var neighbour = Pinned(TestLabs.UniqueName("ps"), $"10.248.{third}.128/25");
            refused.Add(neighbour);
            var other = await Assert.ThrowsAsync<LabRuntimeException>(() => runtime.DeployAsync(neighbour, null, null, TestLabs.Ct));
            Assert.Contains($"overlaps the management network of lab '{first.LabName}' (ltb-{first.LabName}) (10.248.{third}.0/24)", other.Message);

            // A gateway outside its subnet.
            var gateway = Pinned(TestLabs.UniqueName("ps"), $"10.247.{third}.0/24", $"10.246.{third}.1");
            refused.Add(gateway);
            var gw = await Assert.ThrowsAsync<LabRuntimeException>(() => runtime.DeployAsync(gateway, null, null, TestLabs.Ct));
            Assert.Contains($"the management ipv4-gw '10.246.{third}.1' is not an address in the management subnet 10.247.{third}.0/24", gw.Message);

            // An untrusted plan cannot name a network (it would join Docker's bridge, another lab's or any other).
            var named = Pinned(TestLabs.UniqueName("ps"), $"10.247.{third}.0/24") with { Trusted = false, Mgmt = new MgmtNetworkPlan { Name = "bridge" } };
            refused.Add(named with { Mgmt = new MgmtNetworkPlan() }); // Docker's own bridge is not a leftover
            var name = await Assert.ThrowsAsync<LabRuntimeException>(() => runtime.DeployAsync(named, null, null, TestLabs.Ct));
            Assert.Contains($"the management network 'bridge' is not this lab's own (ltb-{named.LabName})", name.Message);

            foreach (var plan in refused)
            {
                var left = await fixture.LeftoversAsync(plan);
                Assert.True(left.IsEmpty, $"a refused deploy left behind: {left}");
            }
            await fixture.DestroyAsync();
        }
        finally
        {
            await net.RunAsync("ip", ["route", "del", "blackhole", route], null, null, CancellationToken.None);
        }
        await fixture.AssertNoLeftoversAsync();
    }
}
