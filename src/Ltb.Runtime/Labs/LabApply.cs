using Ltb.Runtime.Links;
using Ltb.Runtime.Links.Types;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Labs;

/// <summary>
/// Brings a running lab to a changed plan (<see cref="PlanDiff"/>): removes nodes and links that are gone, recreates
/// nodes whose definition changed (and their links), adds new ones; unchanged nodes keep running untouched.
/// </summary>
internal sealed class LabApply(LabContext x, LabDeployment deployment, LabWiring wiring, LabDestruction destruction, LabInspection inspection)
{
    public async Task<LabStatus> ApplyAsync(LabPlan plan, IProgress<RuntimeEvent>? progress, DeployOptions options, CancellationToken ct)
    {
        PlanValidator.Validate(plan);
        var lab = plan.LabName;
        var old = x.Store.Load(lab);
        if (old is null)
        {
            return await deployment.DeployAsync(plan, progress, options, ct);
        }
        x.Drivers.CheckRunnable(plan);
        if (old.Plan.LinkBackend != plan.LinkBackend || old.Plan.Mgmt != plan.Mgmt)
        {
            throw new LabRuntimeException(lab, null, "the link backend or the management network changed; that needs a redeploy (destroy, then deploy)");
        }
        using var _ = await LabContext.LockAsync(lab, ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.DeployTimeout);
        var token = timeout.Token;

        if (old.Mgmt is null)
        {
            throw new LabRuntimeException(lab, null, "the lab was deployed by an earlier LTB that left the management network to Docker; destroy it and deploy it again");
        }

        var diff = PlanDiff.Compute(old.Plan, plan);
        LabContext.Report(progress, lab, null, $"apply: {diff}");
        await deployment.PreflightAsync(plan, diff.AddedNodes.Concat(diff.ChangedNodes), diff.LinksToCreate, options, progress, token);
        var gone = diff.RemovedNodes.Concat(diff.ChangedNodes.Select(n => n.Name)).ToList();
        // Nodes that keep running keep their addresses; recreated nodes keep theirs where they still can.
        var kept = old.Mgmt.Nodes.Where(kv => !gone.Contains(kv.Key) && plan.Nodes.Any(n => n.Name == kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var net = old.Mgmt.WithNodes(MgmtAllocator.Allocate(plan, old.Mgmt, kept, old.Mgmt.Nodes));
        var record = old with { Plan = plan, Phase = LabPhase.Deploying, Error = null, Mgmt = net };
        try
        {
            await RemoveGoneAsync(old, plan, diff, gone, options, token);
            x.Store.Save(record);
            var create = diff.AddedNodes.Concat(diff.ChangedNodes).ToList();
            var keep = plan.Nodes.Select(n => n.Name).Except(create.Select(n => n.Name)).ToList();
            await wiring.CreateAndWireAsync(plan, create, diff.LinksToCreate, keep, net, options, progress, token);
            // Running nodes learn the names of the nodes added and forget the removed ones.
            var names = ContainerNodes.HostNames(lab, old.Mgmt.Nodes.Keys.Concat(net.Nodes.Keys)).ToHashSet(StringComparer.Ordinal);
            foreach (var node in plan.Nodes.Where(n => keep.Contains(n.Name) && MgmtAttachments.Of(plan, n) != MgmtAttachment.None))
            {
                await x.Driver(lab, node).RefreshNamesAsync(plan, node.Name, net, names, token);
            }
            x.Store.Save(record with { Phase = LabPhase.Deployed });
            return await inspection.InspectAsync(lab, CancellationToken.None);
        }
        catch (Exception e)
        {
            throw await deployment.FailAsync(plan, record, e, options with { OnFailure = FailurePolicy.KeepFailed },
                timeout.IsCancellationRequested && !ct.IsCancellationRequested, ct.IsCancellationRequested, progress);
        }
    }

    /// <summary>Removes the links that go (and the management interfaces of nodes that go), then those nodes.</summary>
    private async Task RemoveGoneAsync(LabRecord old, LabPlan plan, PlanDiff diff, List<string> gone, DeployOptions options, CancellationToken ct)
    {
        var lab = plan.LabName;
        var ctx = new LinkContext(lab, plan.LinkBackend, old.MgmtBridge);
        var remove = new WiringBatch();
        foreach (var l in diff.LinksToRemove)
        {
            LinkTypes.Wiring(l, old.Plan.LinkBackend).Remove(l, ctx, remove);
        }
        foreach (var n in gone.Where(n => LabContext.IsLtbWired(old.Plan, old.Mgmt, n)))
        {
            MgmtInterface.Remove(ctx, n, remove);
        }
        await remove.RunAsync(x.Net, options.MaxParallelism, force: true, ct);
        await destruction.RemoveNodesAsync(lab, gone, options.MaxParallelism, ct);
        await LinkTypes.RemovedAsync(x.Net, plan, diff.LinksToRemove, ct);
    }
}
