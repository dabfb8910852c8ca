using Ltb.Runtime.Links.Backends;
using Ltb.Runtime.Network;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using TopologyLinkType = Ltb.Topology.Model.LinkType;

namespace Ltb.Runtime.Links.Types;

/// <summary>
/// Link type veth: node to node, wired by the lab's <see cref="LinkBackend"/> (<c>Backends/</c>). The only type a tenant
/// may write and the only one the splitter carries across hosts (as a VXLAN tunnel per host).
/// </summary>
public sealed class VethLinkType : LinkTypeDefinition
{
    public static readonly VethLinkType Instance = new();

    public override LinkType Type => LinkType.Veth;
    public override IReadOnlyList<TopologyLinkType> WrittenAs { get; } = [TopologyLinkType.Veth];
    public override SecondEnd B => SecondEnd.Node;
    public override bool TenantMayUse => true;
    public override bool SpansHosts => true;

    public override async Task PreflightAsync(LabPlan plan, IReadOnlyList<LinkPlan> links, IHostNetwork net, CancellationToken ct)
    {
        if (plan.LinkBackend == LinkBackend.Ovs && !await net.OvsAvailableAsync(ct))
        {
            throw new LabRuntimeException(plan.LabName, null, "the OVS link backend needs Open vSwitch, which does not answer on this host (ovs-vsctl show fails); start it (scripts/prepare-host.sh) or choose the LinuxBridge or Veth backend");
        }
    }

    public override ILinkWiring Wiring(LinkBackend backend) => backend switch
    {
        LinkBackend.Veth => VethLink.Instance,
        LinkBackend.LinuxBridge => LinuxBridgeLink.Instance,
        LinkBackend.Ovs => OvsLink.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(backend)),
    };
}
