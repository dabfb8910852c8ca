using Ltb.Runtime.Network;
using Ltb.Runtime.Plan;
using TopologyLinkType = Ltb.Topology.Model.LinkType;
using WrittenLink = Ltb.Topology.Model.Link;

namespace Ltb.Runtime.Links.Types;

/// <summary>What a link's second end (<see cref="LinkPlan.B"/>) is.</summary>
public enum SecondEnd
{
    /// <summary>The link has one end, in node A.</summary>
    None,
    /// <summary>An interface in another node of the lab.</summary>
    Node,
    /// <summary>An interface in the host's namespace (node <see cref="PlanValidator.HostNode"/>).</summary>
    Host,
}

/// <summary>
/// Everything the runtime knows about one <see cref="LinkType"/>: how it is planned from the topology, its ends, its own
/// validation, what it needs of the host before a deploy, its wiring, and whether the splitter may carry it across hosts.
/// One subclass per type, registered in <see cref="LinkTypes"/>; the planner, validator, wiring, preflight and splitter
/// ask the registry instead of switching on the type. The topology's syntax (names, keys, endpoints) stays in Ltb.Topology.
/// </summary>
public abstract class LinkTypeDefinition
{
    public abstract LinkType Type { get; }

    /// <summary>The topology link types planned as this one.</summary>
    public abstract IReadOnlyList<TopologyLinkType> WrittenAs { get; }

    public abstract SecondEnd B { get; }

    /// <summary>The MTU when the topology writes none; <see cref="LinkPlan.AutoMtu"/> also makes that value valid.</summary>
    public virtual int DefaultMtu => LinkPlan.DefaultMtu;

    /// <summary>
    /// Whether a non-administrator's topology may use it. The topology enforces this (TenantRules, before planning);
    /// kept here so the registry test holds both in agreement.
    /// </summary>
    public virtual bool TenantMayUse => false;

    /// <summary>Whether the splitter may place its two nodes on different hosts (the link then becomes a tunnel).</summary>
    public virtual bool SpansHosts => false;

    /// <summary>Whether several links may share one host-side end (a host interface parenting several macvlans).</summary>
    public virtual bool SharesHostEnd => false;

    /// <summary>The node-side ends of a link of this type: the namespaces that must exist before it is wired.</summary>
    public IEnumerable<LinkEndpoint> NodeEnds(LinkPlan link)
    {
        yield return link.A;
        if (B == SecondEnd.Node && link.B is not null)
        {
            yield return link.B;
        }
    }

    /// <summary>Completes a planned link with what this type reads from the written one; null when it cannot be planned (reason in <paramref name="errors"/>).</summary>
    public virtual LinkPlan? Complete(WrittenLink written, LinkPlan planned, List<string> errors) => planned;

    /// <summary>Checks what only this type has (its ends and MTU are checked by <see cref="PlanValidator"/>).</summary>
    public virtual void Validate(LinkPlan link, List<string> errors)
    {
    }

    /// <summary>Fails, before anything is created, when this host cannot wire <paramref name="links"/> (all of this type, at least one).</summary>
    public virtual Task PreflightAsync(LabPlan plan, IReadOnlyList<LinkPlan> links, IHostNetwork net, CancellationToken ct) => Task.CompletedTask;

    /// <summary>
    /// Before any node of a deploy or apply: fills in what the host decides and sets up host-wide state
    /// <paramref name="links"/> (all of this type, at least one) need. Returns them in the same order.
    /// </summary>
    public virtual Task<IReadOnlyList<LinkPlan>> PrepareHostAsync(IHostNetwork net, LabPlan plan, IReadOnlyList<LinkPlan> links, CancellationToken ct) =>
        Task.FromResult(links);

    /// <summary>After an apply removed <paramref name="removed"/> (all of this type): brings host-wide state in line with <paramref name="plan"/>.</summary>
    public virtual Task RemovedAsync(IHostNetwork net, LabPlan plan, IReadOnlyList<LinkPlan> removed, CancellationToken ct) => Task.CompletedTask;

    /// <summary>The wiring of a link of this type in a lab with <paramref name="backend"/>.</summary>
    public abstract ILinkWiring Wiring(LinkBackend backend);

    public override string ToString() => Type.ToString();
}
