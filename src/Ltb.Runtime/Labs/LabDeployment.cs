using System.Text.Json;
using Ltb.Runtime.Links.Types;
using Ltb.Runtime.Network;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Labs;

/// <summary>
/// Deploys a lab: checks (preflight) before anything is created, the management network, the nodes in waves
/// (<see cref="LabWiring"/>), and on failure either keeps what deployed (state Failed) or rolls it back.
/// </summary>
internal sealed class LabDeployment(LabContext x, LabWiring wiring, LabDestruction destruction, LabInspection inspection)
{
    public async Task<LabStatus> DeployAsync(LabPlan plan, IProgress<RuntimeEvent>? progress, DeployOptions options, CancellationToken ct)
    {
        PlanValidator.Validate(plan);
        x.Drivers.CheckRunnable(plan);
        var lab = plan.LabName;
        using var _ = await LabContext.LockAsync(lab, ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.DeployTimeout);
        var token = timeout.Token;

        if (await ExistingAsync(plan, options, progress, token) is { } current)
        {
            return current;
        }
        await PreflightAsync(plan, plan.Nodes, plan.Links, options, progress, token);
        // Before anything exists (checked again when the network is created, against a lab created meanwhile).
        await x.Mgmt.CheckPinnedAsync(plan, token);
        foreach (var d in plan.Nodes.Select(n => x.Driver(lab, n)).Distinct())
        {
            if (await d.IsolationWarningAsync(token) is { } unisolated)
            {
                LabContext.Report(progress, lab, null, unisolated, RuntimeEventKind.Warning);
            }
        }

        LabContext.Report(progress, lab, null, $"deploying {plan.Nodes.Count} nodes and {plan.Links.Count} links ({plan.LinkBackend} backend)");
        var record = new LabRecord(plan, LabPhase.Deploying, null, null);
        try
        {
            x.Store.Save(record);
            var net = await x.Mgmt.CreateAsync(plan, options, token);
            net = net.WithNodes(MgmtAllocator.Allocate(plan, net, new Dictionary<string, MgmtAddresses>()));
            record = record with { MgmtBridge = net.Bridge, Mgmt = net };
            x.Store.Save(record);
            LabContext.Report(progress, lab, null, $"management network {plan.MgmtNetworkName} ({net.Ipv4Subnet ?? "no IPv4"}) on {net.Bridge}");
            await wiring.CreateAndWireAsync(plan, plan.Nodes, plan.Links, [], net, options, progress, token);
            x.Store.Save(record with { Phase = LabPhase.Deployed });
            LabContext.Report(progress, lab, null, "deployed");
            return await inspection.InspectAsync(lab, CancellationToken.None);
        }
        catch (Exception e)
        {
            throw await FailAsync(plan, record, e, options, timeout.IsCancellationRequested && !ct.IsCancellationRequested, ct.IsCancellationRequested, progress);
        }
    }

    /// <summary>
    /// A lab of that name on this host: refused, unless the deploy converges (a retry): then a lab deployed from this very
    /// plan and running whole is returned as it is, anything else of it is removed first (null: deploy).
    /// </summary>
    private async Task<LabStatus?> ExistingAsync(LabPlan plan, DeployOptions options, IProgress<RuntimeEvent>? progress, CancellationToken ct)
    {
        var lab = plan.LabName;
        var existing = await x.ListNodesAsync(lab, ct);
        if (existing.Count == 0 && (await x.Mgmt.ListAsync(lab, ct)).Count == 0 && x.Store.Load(lab) is null)
        {
            return null;
        }
        if (!options.Converge)
        {
            throw new LabRuntimeException(lab, null,
                $"a lab with this name is already deployed on this host ({existing.Count} containers); destroy it first, apply the changed topology to it, or choose another name");
        }
        if (await DeployedAsAsync(plan, ct) is { } current)
        {
            LabContext.Report(progress, lab, null, "already deployed from this plan with every node running: kept as it is");
            return current;
        }
        LabContext.Report(progress, lab, null, "removing what an earlier attempt left, then deploying again");
        await destruction.DestroyAsync(lab, progress, ct);
        return null;
    }

    /// <summary>The lab's status when it was deployed from <paramref name="plan"/> (the same plan, to the letter) and runs whole; else null.</summary>
    private async Task<LabStatus?> DeployedAsAsync(LabPlan plan, CancellationToken ct)
    {
        if (x.Store.Load(plan.LabName) is not { Phase: LabPhase.Deployed } record
            || JsonSerializer.Serialize(record.Plan, LabStateStore.Json) != JsonSerializer.Serialize(plan, LabStateStore.Json))
        {
            return null;
        }
        var status = await inspection.InspectAsync(plan.LabName, ct);
        return status.State == LabState.Running ? status : null;
    }

    /// <summary>The failure as the user sees it (naming lab, node, cause), after keeping (Failed) or rolling back what deployed.</summary>
    public async Task<LabRuntimeException> FailAsync(LabPlan plan, LabRecord record, Exception e, DeployOptions options, bool timedOut,
        bool cancelled, IProgress<RuntimeEvent>? progress)
    {
        var lab = plan.LabName;
        var error = e switch
        {
            LabRuntimeException l => l,
            OperationCanceledException when timedOut => new LabRuntimeException(lab, null, $"the deploy did not finish within {options.DeployTimeout}", e),
            OperationCanceledException when cancelled => new LabRuntimeException(lab, null, "the deploy was cancelled", e),
            // Neither the caller nor the deploy's own timeout: one engine call ran into DockerTimeout.
            OperationCanceledException => new LabRuntimeException(lab, null,
                $"a Docker engine call did not answer within {options.DockerTimeout.TotalSeconds:0} s (the engine is overloaded or hung)", e),
            HostNetworkException h => new LabRuntimeException(lab, null, $"wiring failed: {h.Message}", e),
            _ => new LabRuntimeException(lab, null, e.Message, e),
        };
        LabContext.Report(progress, lab, error.Node, error.Message, RuntimeEventKind.Error);
        LabStatus status;
        if (options.OnFailure == FailurePolicy.Rollback)
        {
            LabContext.Report(progress, lab, null, "rolling back");
            await destruction.DestroyAsync(lab, progress, CancellationToken.None);
            status = LabContext.Absent(lab, plan.LinkBackend);
        }
        else
        {
            x.Store.Save(record with { Phase = LabPhase.Failed, Error = error.Message });
            status = await inspection.InspectAsync(lab, CancellationToken.None);
        }
        return new LabRuntimeException(error.Lab, error.Node, error.Cause, error.InnerException ?? e) { Status = status };
    }

    /// <summary>Checks what can be checked before anything is created: each driver's needs (images), each link type's (kernel modules, OVS).</summary>
    public async Task PreflightAsync(LabPlan plan, IEnumerable<NodePlan> nodes, IEnumerable<LinkPlan> links, DeployOptions options,
        IProgress<RuntimeEvent>? progress, CancellationToken ct)
    {
        var lab = plan.LabName;
        foreach (var group in nodes.GroupBy(n => x.Driver(lab, n)))
        {
            await group.Key.PrepareAsync(plan, group.ToList(), options, progress, ct);
        }
        await LinkTypes.PreflightAsync(plan, links, x.Net, ct);
    }
}
