using Ltb.Runtime.Plan;
using Ltb.Runtime.Planning;

namespace Ltb.Runtime.Tests.Planning;

/// <summary>A lab split over hosts: each host gets its nodes and links, cross-host links become a VXLAN pair.</summary>
public sealed class PlanSplitterTests
{
    private static readonly Dictionary<string, string> Tunnels = new() { ["hostA"] = "10.0.0.1", ["hostB"] = "10.0.0.2" };

    private static NodePlan Node(string name) => new() { Name = name, Image = "ltb/tiny" };

    private static LabPlan Plan(params LinkPlan[] links) => new()
    {
        LabName = "span",
        Mgmt = new MgmtNetworkPlan { Ipv4Subnet = "172.20.20.0/24" },
        Nodes = [Node("r1"), Node("r2"), Node("pc1") with { WaitFor = ["r1", "r2"] }],
        Links = links,
    };

    private static readonly LinkPlan R1R2 = new() { A = new LinkEndpoint("r1", "eth1", "02:00:00:00:00:01"), B = new LinkEndpoint("r2", "eth1") };
    private static readonly LinkPlan Pc1R1 = new() { A = new LinkEndpoint("pc1", "eth1"), B = new LinkEndpoint("r1", "eth2"), Mtu = 1400 };
    private static readonly LinkPlan R2Dummy = new() { Type = LinkType.Dummy, A = new LinkEndpoint("r2", "lo1") };

    [Fact]
    public void Cross_host_links_become_a_vxlan_pair_and_local_links_stay()
    {
        var hosts = new Dictionary<string, string> { ["r1"] = "hostA", ["pc1"] = "hostA", ["r2"] = "hostB" };
        var result = PlanSplitter.Split(Plan(R1R2, Pc1R1, R2Dummy), hosts, Tunnels, new Dictionary<string, int> { [R1R2.Key] = 4242 });

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(["hostA", "hostB"], result.Plans.Keys.Order());
        var a = result.Plans["hostA"];
        var b = result.Plans["hostB"];
        Assert.Equal(["r1", "pc1"], a.Nodes.Select(n => n.Name));
        Assert.Equal(["r2"], b.Nodes.Select(n => n.Name));
        Assert.All(result.Plans.Values, p => Assert.Equal("span", p.LabName));
        Assert.All(result.Plans.Values, p => Assert.Equal("172.20.20.0/24", p.Mgmt.Ipv4Subnet)); // each host its own part

        Assert.Contains(Pc1R1, a.Links);
        var tunnelA = a.Links.Single(l => l.Type == LinkType.Vxlan);
        Assert.Equal(new LinkEndpoint("r1", "eth1", "02:00:00:00:00:01"), tunnelA.A);
        Assert.Equal(new VxlanPlan("10.0.0.2", 4242), tunnelA.Vxlan);
        Assert.Equal(LinkPlan.AutoMtu, tunnelA.Mtu); // the default 9500 does not fit a tunnel: underlay minus overhead
        Assert.Equal(2, b.Links.Count);
        Assert.Contains(R2Dummy, b.Links);
        var tunnelB = b.Links.Single(l => l.Type == LinkType.Vxlan);
        Assert.Equal(new LinkEndpoint("r2", "eth1"), tunnelB.A);
        Assert.Equal(new VxlanPlan("10.0.0.1", 4242), tunnelB.Vxlan);
        foreach (var p in result.Plans.Values)
        {
            PlanValidator.Validate(p);
        }

        // pc1 waited for r1 (same host: kept) and r2 (other host: dropped, with a warning naming both).
        Assert.Equal(["r1"], a.Nodes.Single(n => n.Name == "pc1").WaitFor);
        Assert.Contains(result.Warnings, w => w.Contains("'pc1'") && w.Contains("'r2'"));
    }

    [Fact]
    public void A_written_mtu_is_kept_across_hosts()
    {
        var hosts = new Dictionary<string, string> { ["r1"] = "hostA", ["pc1"] = "hostB", ["r2"] = "hostB" };
        var result = PlanSplitter.Split(Plan(Pc1R1), hosts, Tunnels, new Dictionary<string, int> { [Pc1R1.Key] = 7 });
        Assert.All(result.Plans.Values, p => Assert.Equal(1400, p.Links.Single().Mtu));
    }

    [Fact]
    public void What_cannot_be_split_is_named()
    {
        var plan = Plan(R1R2) with { Nodes = [Node("r1"), Node("r2"), Node("pc1") with { NetworkMode = "container:r2" }, Node("lost")] };
        var unassigned = PlanSplitter.Split(plan, new Dictionary<string, string> { ["r1"] = "hostA", ["r2"] = "hostB", ["pc1"] = "hostA" }, Tunnels,
            new Dictionary<string, int>());
        Assert.Equal(["node 'lost' is not assigned to a host"], unassigned.Errors);

        var hosts = new Dictionary<string, string> { ["r1"] = "hostA", ["r2"] = "hostB", ["pc1"] = "hostA", ["lost"] = "hostC" };
        var result = PlanSplitter.Split(plan, hosts, new Dictionary<string, string> { ["hostA"] = "10.0.0.1" }, new Dictionary<string, int>());
        Assert.Contains(result.Errors, e => e.StartsWith("node 'pc1' shares the network of node 'r2'", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("link r1:eth1 <-> r2:eth1 crosses hosts 'hostA' and 'hostB' but has no VNI", StringComparison.Ordinal));

        var noTunnel = PlanSplitter.Split(plan with { Nodes = plan.Nodes.Take(2).ToList() }, hosts, new Dictionary<string, string> { ["hostA"] = "10.0.0.1" },
            new Dictionary<string, int> { [R1R2.Key] = 1 });
        Assert.Contains(noTunnel.Errors, e => e.Contains("host 'hostB' has no tunnel address"));
    }
}
