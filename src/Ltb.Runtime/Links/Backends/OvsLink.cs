using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Links.Backends;

/// <summary>
/// Backend Ovs: an Open vSwitch bridge per link (userspace datapath, <c>datapath_type=netdev</c>, so it works without the
/// kernel module) in <c>fail_mode=secure</c> with two explicit flows, port 1 -> port 2 and back: no NORMAL action, no
/// learning, nothing eaten (STP/LACP/LLDP cross like on a cable).
/// </summary>
public sealed class OvsLink : ILinkWiring
{
    public static readonly OvsLink Instance = new();
    public const string LabExternalId = "ltb-lab";

    public void Create(LinkPlan link, LinkContext ctx, WiringBatch batch)
    {
        var bridge = Names.OvsBridge(ctx.Lab, link);
        var (a, b) = BridgedEnds.Create(link, ctx, batch, master: null);
        batch.Ovs.Add(["--may-exist", "add-br", bridge]);
        batch.Ovs.Add(["set", "bridge", bridge, "datapath_type=netdev", "fail_mode=secure", $"external_ids:{LabExternalId}={ctx.Lab}",
            "other_config:forward-bpdu=true"]);
        batch.Ovs.Add(["--may-exist", "add-port", bridge, a, "--", "set", "interface", a, "ofport_request=1", $"external_ids:{LabExternalId}={ctx.Lab}"]);
        batch.Ovs.Add(["--may-exist", "add-port", bridge, b, "--", "set", "interface", b, "ofport_request=2", $"external_ids:{LabExternalId}={ctx.Lab}"]);
        batch.OvsFlows[bridge] = ["priority=100,in_port=1,actions=output:2", "priority=100,in_port=2,actions=output:1"];
    }

    public void Remove(LinkPlan link, LinkContext ctx, WiringBatch batch)
    {
        batch.Ovs.Add(["--if-exists", "del-br", Names.OvsBridge(ctx.Lab, link)]);
        BridgedEnds.Remove(link, ctx, batch);
    }

    public void SetState(LinkPlan link, LinkContext ctx, bool up, WiringBatch batch) => BridgedEnds.SetState(link, ctx, up, batch);
}
