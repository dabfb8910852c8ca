using System.Text.RegularExpressions;
using Ltb.Runtime.Links.Types;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Plan;

/// <summary>Checks a plan before anything is created: names, interface lengths, references; a link's ends as its type (<see cref="LinkTypes"/>) has them.</summary>
public static partial class PlanValidator
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
    private static partial Regex NameRegex();

    [GeneratedRegex("^[A-Za-z0-9_.:-]{1,15}$")]
    private static partial Regex InterfaceRegex();

    [GeneratedRegex("^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$")]
    private static partial Regex MacRegex();

    public const string HostNode = "host";

    /// <summary>Whether <paramref name="name"/> can be a Linux interface name (1-15 characters).</summary>
    public static bool IsInterfaceName(string name) => InterfaceRegex().IsMatch(name);

    public static void Validate(LabPlan plan)
    {
        var errors = new List<string>();
        if (!NameRegex().IsMatch(plan.LabName) || plan.LabName.Contains('.', StringComparison.Ordinal))
        {
            errors.Add($"lab name '{plan.LabName}' is not valid (letters, digits, '_' and '-', at most 63 characters)");
        }
        if (!plan.Trusted && plan.Mgmt.Name is { } network && network != $"ltb-{plan.LabName}")
        {
            // A name is how Docker finds a network: an untrusted plan naming one would join another lab's network,
            // Docker's `bridge` or any other network on the host. Only administrators' plans may name it.
            errors.Add($"the management network '{network}' is not this lab's own (ltb-{plan.LabName}); only an administrator's plan may name another network");
        }
        var nodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in plan.Nodes)
        {
            if (!NameRegex().IsMatch(n.Name))
            {
                errors.Add($"node name '{n.Name}' is not valid (letters, digits, '_', '.', '-')");
            }
            if (n.Name == HostNode)
            {
                errors.Add($"node name '{HostNode}' is reserved for host links");
            }
            if (!nodes.Add(n.Name))
            {
                errors.Add($"node '{n.Name}' appears twice");
            }
            if (string.IsNullOrWhiteSpace(n.Image))
            {
                errors.Add($"node '{n.Name}' has no image");
            }
            foreach (var b in n.Binds)
            {
                if (!Path.IsPathRooted(b.HostPath))
                {
                    errors.Add($"node '{n.Name}': bind host path '{b.HostPath}' is not absolute");
                }
            }
            if ((n.Runtime == Ltb.Topology.Catalog.NodeRuntime.Vm) != (n.Vm is not null))
            {
                errors.Add(n.Vm is null
                    ? $"node '{n.Name}' runs as a VM but has no VM part (disk)"
                    : $"node '{n.Name}' runs as {n.Runtime.ToString().ToLowerInvariant()} but carries a VM part");
            }
            if (n.StartupConfig is { HostFile: null, InlineText: null })
            {
                errors.Add($"node '{n.Name}': startup config for {n.StartupConfig.ContainerPath} has neither a file nor text");
            }
        }
        foreach (var n in plan.Nodes)
        {
            foreach (var w in n.WaitFor.Where(w => !nodes.Contains(w)))
            {
                errors.Add($"node '{n.Name}' waits for unknown node '{w}'");
            }
        }
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var l in plan.Links)
        {
            CheckEndpoint(l, l.A, nodeSide: true);
            var type = LinkTypes.Of(l);
            if (type.B == SecondEnd.None && l.B is not null)
            {
                errors.Add($"link {l}: a {l.Type} link has one endpoint");
            }
            else if (type.B != SecondEnd.None && l.B is null)
            {
                errors.Add($"link {l}: a {l.Type} link needs two endpoints");
            }
            else
            {
                if (l.B is not null)
                {
                    CheckEndpoint(l, l.B, nodeSide: type.B == SecondEnd.Node);
                }
                type.Validate(l, errors);
            }
            if (l.Mtu is < 68 or > 65535 && !(type.DefaultMtu == LinkPlan.AutoMtu && l.Mtu == LinkPlan.AutoMtu))
            {
                errors.Add($"link {l}: MTU {l.Mtu} is out of range");
            }
        }
        if (errors.Count > 0)
        {
            throw new LabRuntimeException(plan.LabName, null, "the plan is not valid: " + string.Join("; ", errors));
        }

        void CheckEndpoint(LinkPlan l, LinkEndpoint e, bool nodeSide)
        {
            if (nodeSide && !nodes.Contains(e.Node))
            {
                errors.Add($"link {l}: unknown node '{e.Node}'");
            }
            if (!nodeSide && e.Node != HostNode)
            {
                errors.Add($"link {l}: the second endpoint of a {l.Type} link must be on node '{HostNode}'");
            }
            if (!InterfaceRegex().IsMatch(e.Interface))
            {
                errors.Add($"link {l}: interface name '{e.Interface}' is not valid (1-15 characters: letters, digits, '_', '.', ':', '-')");
            }
            if (e.Mac is not null && !MacRegex().IsMatch(e.Mac))
            {
                errors.Add($"link {l}: MAC '{e.Mac}' is not valid");
            }
            if ((nodeSide || !LinkTypes.Of(l).SharesHostEnd) && !used.Add($"{e.Node}:{e.Interface}"))
            {
                errors.Add($"interface {e} is used by more than one link");
            }
        }
    }
}
