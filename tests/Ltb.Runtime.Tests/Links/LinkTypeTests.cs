using Ltb.Runtime.Labs;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Runtime.Tests.Support;

namespace Ltb.Runtime.Tests.Links;

/// <summary>Link types host, mgmt-net and macvlan, a pinned management subnet with a static address; destroy removes the host sides.</summary>
public sealed class LinkTypeTests
{
    [Fact]
    public async Task Host_mgmt_net_and_macvlan_links_and_a_static_mgmt_address()
    {
        var lab = TestLabs.UniqueName("types");
        var suffix = lab[^6..];
        var third = Random.Shared.Next(100, 250);
        var hostIf = $"lh{suffix}";
        var mgmtIf = $"lm{suffix}";
        var plan = new LabPlan
        {
            LabName = lab,
            Mgmt = new MgmtNetworkPlan { Ipv4Subnet = $"10.251.{third}.0/24" },
            Nodes = [TestLabs.Tiny("n1") with { MgmtIpv4 = $"10.251.{third}.10" }, TestLabs.Tiny("n2")],
            Links =
            [
                new LinkPlan { Type = LinkType.Host, A = new LinkEndpoint("n1", "eth1"), B = new LinkEndpoint("host", hostIf) },
                new LinkPlan { Type = LinkType.MgmtNet, A = new LinkEndpoint("n1", "eth2"), B = new LinkEndpoint("host", mgmtIf), Mtu = 1500 },
                new LinkPlan { Type = LinkType.Macvlan, A = new LinkEndpoint("n2", "mv1"), B = new LinkEndpoint("host", hostIf), Mtu = 1500 },
            ],
        };
        await using var fixture = await LabUnderTest.RequireAsync(plan, TestLabs.TinyImage);
        var net = fixture.Net;
        var status = await fixture.DeployAsync(new DeployOptions { OnFailure = FailurePolicy.Rollback });
        Assert.Equal(LabState.Running, status.State);
        Assert.Equal($"10.251.{third}.10", status.Node("n1").MgmtIpv4);
        Assert.Equal($"10.251.{third}.0/24", status.MgmtIpv4Subnet);
        Assert.Contains(status.Node("n1").Interfaces, i => i.Name == "eth1" && i.Carrier);
        Assert.Contains(status.Node("n1").Interfaces, i => i.Name == "eth2" && i.Carrier);
        Assert.Contains(status.Node("n2").Interfaces, i => i.Name == "mv1");
        var host = await net.ListLinksAsync(null, TestLabs.Ct);
        var h = host.Single(l => l.Name == hostIf);
        Assert.StartsWith(Names.AliasPrefix(lab), h.Alias);
        var m = host.Single(l => l.Name == mgmtIf);
        Assert.StartsWith("br-", m.Master);
        await fixture.DestroyAsync();
        var after = await net.ListLinksAsync(null, TestLabs.Ct);
        Assert.DoesNotContain(after, l => l.Name == hostIf || l.Name == mgmtIf);
        await fixture.AssertNoLeftoversAsync();
    }
}
