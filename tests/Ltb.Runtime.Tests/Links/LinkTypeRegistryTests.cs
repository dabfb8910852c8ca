using System.Reflection;
using Ltb.Runtime.Links.Types;
using Ltb.Runtime.Network;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Planning;
using Ltb.Runtime.Status;
using Ltb.Topology;
using TopologyLinkType = Ltb.Topology.Model.LinkType;

namespace Ltb.Runtime.Tests.Links;

/// <summary>
/// The link type registry: one definition per type, what each says about its ends, spanning and validation, the preflight
/// messages, and agreement with the topology's tenant rule (which link types a non-administrator may write).
/// </summary>
public sealed class LinkTypeRegistryTests
{
    private static readonly LinkEndpoint A = new("n1", "eth1");

    [Fact]
    public void Every_link_type_has_exactly_one_definition()
    {
        Assert.All(Enum.GetValues<LinkType>(), t => Assert.Equal(t, Assert.Single(LinkTypes.All, d => d.Type == t).Type));
        Assert.Equal(Enum.GetValues<LinkType>().Length, LinkTypes.All.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => LinkTypes.Of((LinkType)99));
    }

    [Theory]
    [InlineData(TopologyLinkType.Veth, LinkType.Veth)]
    [InlineData(TopologyLinkType.Host, LinkType.Host)]
    [InlineData(TopologyLinkType.MgmtNet, LinkType.MgmtNet)]
    [InlineData(TopologyLinkType.Macvlan, LinkType.Macvlan)]
    [InlineData(TopologyLinkType.Dummy, LinkType.Dummy)]
    [InlineData(TopologyLinkType.Vxlan, LinkType.Vxlan)]
    [InlineData(TopologyLinkType.VxlanStitch, LinkType.Vxlan)]
    public void Every_written_link_type_is_planned_as_exactly_one_type(TopologyLinkType written, LinkType planned)
    {
        Assert.Equal(planned, Assert.Single(LinkTypes.All, d => d.WrittenAs.Contains(written)).Type);
        Assert.Equal(planned, LinkTypes.Written(written)!.Type);
    }

    [Theory]
    [InlineData(LinkType.Veth, SecondEnd.Node, true, 9500)]
    [InlineData(LinkType.Host, SecondEnd.Host, false, 9500)]
    [InlineData(LinkType.MgmtNet, SecondEnd.Host, false, 9500)]
    [InlineData(LinkType.Macvlan, SecondEnd.Host, false, LinkPlan.AutoMtu)]
    [InlineData(LinkType.Dummy, SecondEnd.None, false, 9500)]
    [InlineData(LinkType.Vxlan, SecondEnd.None, false, LinkPlan.AutoMtu)]
    public void Ends_spanning_and_default_mtu_per_type(LinkType type, SecondEnd b, bool spans, int mtu)
    {
        var d = LinkTypes.Of(type);
        Assert.Equal((b, spans, mtu), (d.B, d.SpansHosts, d.DefaultMtu));
        var link = new LinkPlan { Type = type, A = A, B = b == SecondEnd.None ? null : new LinkEndpoint(b == SecondEnd.Node ? "n2" : "host", "x1") };
        var expected = b == SecondEnd.Node ? new[] { "n1:eth1", "n2:x1" } : ["n1:eth1"];
        Assert.Equal(expected, LinkTypes.NodeEnds(link).Select(e => e.ToString()));
    }

    /// <summary>Only a link between nodes crosses hosts; the others stay with their node.</summary>
    [Fact]
    public void The_splitter_tunnels_only_types_that_span_hosts()
    {
        var plan = new LabPlan
        {
            LabName = "span",
            Nodes = [new NodePlan { Name = "n1", Image = "i" }, new NodePlan { Name = "n2", Image = "i" }],
            Links =
            [
                new LinkPlan { Type = LinkType.Veth, A = A, B = new LinkEndpoint("n2", "eth1") },
                new LinkPlan { Type = LinkType.Host, A = new LinkEndpoint("n2", "eth2"), B = new LinkEndpoint("host", "h1") },
            ],
        };
        var split = PlanSplitter.Split(plan, new Dictionary<string, string> { ["n1"] = "h1", ["n2"] = "h2" },
            new Dictionary<string, string> { ["h1"] = "10.0.0.1", ["h2"] = "10.0.0.2" }, new Dictionary<string, int> { [plan.Links[0].Key] = 42 });
        Assert.True(split.Succeeded, string.Join("; ", split.Errors));
        Assert.Equal([PlanSplitter.TunnelType], split.Plans["h1"].Links.Select(l => l.Type));
        Assert.Equal([LinkType.Host, PlanSplitter.TunnelType], split.Plans["h2"].Links.Select(l => l.Type).Order());
    }

    public static TheoryData<LinkPlan, string> BadLinks => new()
    {
        { new LinkPlan { Type = LinkType.Dummy, A = A, B = new LinkEndpoint("n2", "eth1") }, "link n1:eth1 <-> n2:eth1: a Dummy link has one endpoint" },
        { new LinkPlan { Type = LinkType.Vxlan, A = A, B = new LinkEndpoint("n2", "eth1") }, "link n1:eth1 <-> n2:eth1: a Vxlan link has one endpoint" },
        { new LinkPlan { Type = LinkType.Veth, A = A }, "link n1:eth1 (Veth): a Veth link needs two endpoints" },
        { new LinkPlan { Type = LinkType.Macvlan, A = A }, "link n1:eth1 (Macvlan): a Macvlan link needs two endpoints" },
        { new LinkPlan { Type = LinkType.Host, A = A, B = new LinkEndpoint("n2", "h1") }, "link n1:eth1 <-> n2:h1: the second endpoint of a Host link must be on node 'host'" },
        { new LinkPlan { Type = LinkType.Veth, A = A, B = new LinkEndpoint("n9", "eth1") }, "link n1:eth1 <-> n9:eth1: unknown node 'n9'" },
        { new LinkPlan { Type = LinkType.Veth, A = A, B = new LinkEndpoint("n2", "eth1"), Mtu = LinkPlan.AutoMtu }, "link n1:eth1 <-> n2:eth1: MTU 0 is out of range" },
        { new LinkPlan { Type = LinkType.Vxlan, A = A }, "link n1:eth1 (Vxlan): a vxlan link needs its remote and VNI" },
        { new LinkPlan { Type = LinkType.Vxlan, A = A, Vxlan = new VxlanPlan("nowhere", 0, 0, null, "bad name!") },
            "link n1:eth1 (Vxlan): the VXLAN remote 'nowhere' is not an IP address; link n1:eth1 (Vxlan): VNI 0 is out of range (1-16777215); " +
            "link n1:eth1 (Vxlan): UDP port 0 is out of range; link n1:eth1 (Vxlan): parent interface name 'bad name!' is not valid" },
    };

    [Theory]
    [MemberData(nameof(BadLinks))]
    public void Validation_messages_per_type(LinkPlan link, string expected)
    {
        var e = Assert.Throws<LabRuntimeException>(() => PlanValidator.Validate(Plan(link)));
        Assert.Equal("the plan is not valid: " + expected, e.Cause);
    }

    [Fact]
    public void Types_with_a_parent_mtu_accept_it_and_macvlans_may_share_a_parent()
    {
        PlanValidator.Validate(Plan(
            new LinkPlan { Type = LinkType.Vxlan, A = A, Mtu = LinkPlan.AutoMtu, Vxlan = new VxlanPlan("10.0.0.2", 7) },
            new LinkPlan { Type = LinkType.Macvlan, A = new LinkEndpoint("n1", "eth2"), B = new LinkEndpoint("host", "p0"), Mtu = LinkPlan.AutoMtu },
            new LinkPlan { Type = LinkType.Macvlan, A = new LinkEndpoint("n2", "eth2"), B = new LinkEndpoint("host", "p0") }));
        var e = Assert.Throws<LabRuntimeException>(() => PlanValidator.Validate(Plan(
            new LinkPlan { Type = LinkType.Host, A = new LinkEndpoint("n1", "eth2"), B = new LinkEndpoint("host", "p0") },
            new LinkPlan { Type = LinkType.Host, A = new LinkEndpoint("n2", "eth2"), B = new LinkEndpoint("host", "p0") })));
        Assert.Equal("the plan is not valid: interface host:p0 is used by more than one link", e.Cause);
    }

    [Fact]
    public async Task Preflight_refuses_a_dummy_link_without_the_kernel_module_naming_the_link()
    {
        var plan = Plan(new LinkPlan { Type = LinkType.Dummy, A = A }, new LinkPlan { Type = LinkType.Dummy, A = new LinkEndpoint("n2", "d0") });
        var e = await Assert.ThrowsAsync<LabRuntimeException>(() => LinkTypes.PreflightAsync(plan, plan.Links, Host(dummy: false, ovs: true), TestContext.Current.CancellationToken));
        Assert.Equal(("n1", "link n1:eth1 (Dummy): the dummy link type needs the Linux 'dummy' kernel module, which this host's kernel does not provide ('ip link add ... type dummy' fails); load it (modprobe dummy) or use a host whose kernel has it"),
            (e.Node, e.Cause));
        await LinkTypes.PreflightAsync(plan, plan.Links, Host(dummy: true, ovs: false), TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Preflight_refuses_the_ovs_backend_without_open_vswitch_only_when_nodes_are_linked()
    {
        var plan = Plan(new LinkPlan { Type = LinkType.Veth, A = A, B = new LinkEndpoint("n2", "eth1") }) with { LinkBackend = LinkBackend.Ovs };
        var e = await Assert.ThrowsAsync<LabRuntimeException>(() => LinkTypes.PreflightAsync(plan, plan.Links, Host(dummy: true, ovs: false), TestContext.Current.CancellationToken));
        Assert.Equal("the OVS link backend needs Open vSwitch, which does not answer on this host (ovs-vsctl show fails); start it (scripts/prepare-host.sh) or choose the LinuxBridge or Veth backend", e.Cause);
        await LinkTypes.PreflightAsync(plan, [], Host(dummy: true, ovs: false), TestContext.Current.CancellationToken);
        await LinkTypes.PreflightAsync(plan with { LinkBackend = LinkBackend.Veth }, plan.Links, Host(dummy: true, ovs: false), TestContext.Current.CancellationToken);
    }

    public static TheoryData<TopologyLinkType, string> Written => new()
    {
        { TopologyLinkType.Veth, "- endpoints: [\"a:eth2\", \"b:eth2\"]" },
        { TopologyLinkType.Host, "- endpoints: [\"a:eth2\", \"host:ltbmx0\"]" },
        { TopologyLinkType.MgmtNet, "- endpoints: [\"a:eth2\", \"mgmt-net:ltbmx1\"]" },
        { TopologyLinkType.Macvlan, "- endpoints: [\"a:eth2\", \"macvlan:eth0\"]" },
        { TopologyLinkType.Vxlan, "- {type: vxlan, endpoint: {node: a, interface: eth2}, remote: 192.0.2.1, vni: 4242}" },
        { TopologyLinkType.VxlanStitch, "- {type: vxlan-stitch, endpoint: {node: a, interface: eth2}, remote: 192.0.2.1, vni: 4243}" },
        { TopologyLinkType.Dummy, "- {type: dummy, endpoint: {node: a, interface: eth2}}" },
    };

    /// <summary>The topology refuses a tenant's link (TenantRules) exactly when its type's definition says tenants may not use it.</summary>
    [Theory]
    [MemberData(nameof(Written))]
    public void The_tenant_rule_agrees_with_the_definitions(TopologyLinkType type, string link)
    {
        var yaml = $"""
            name: t
            topology:
              nodes:
                a: {"{"}kind: linux, image: alpine:3{"}"}
                b: {"{"}kind: linux, image: alpine:3{"}"}
              links:
                {link}
            """;
        var loaded = TopologyLoader.LoadText(yaml, Path.Combine(Path.GetTempPath(), "lab.clab.yml"),
            new LoadOptions { Environment = new Dictionary<string, string>(), Trusted = false });
        var refused = loaded.Diagnostics.Any(d => d.Message.Contains("link needs an administrator", StringComparison.Ordinal));
        Assert.Equal(!LinkTypes.Written(type)!.TenantMayUse, refused);
        Assert.Equal(type, Assert.Single(loaded.Lab?.Links ?? []).Type);
    }

    private static LabPlan Plan(params LinkPlan[] links) => new()
    {
        LabName = "lt",
        Nodes = [new NodePlan { Name = "n1", Image = "i" }, new NodePlan { Name = "n2", Image = "i" }],
        Links = links,
    };

    private static IHostNetwork Host(bool dummy, bool ovs)
    {
        var host = DispatchProxy.Create<IHostNetwork, Answers>();
        ((Answers)(object)host).Kinds = (dummy, ovs);
        return host;
    }

    /// <summary>A host network that answers the two preflight questions and nothing else.</summary>
    public class Answers : DispatchProxy
    {
        public (bool Dummy, bool Ovs) Kinds { get; set; }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
        {
            nameof(IHostNetwork.SupportsLinkKindAsync) => Task.FromResult(Kinds.Dummy && (string?)args![0] == "dummy"),
            nameof(IHostNetwork.OvsAvailableAsync) => Task.FromResult(Kinds.Ovs),
            _ => throw new NotSupportedException(targetMethod?.Name),
        };
    }
}
