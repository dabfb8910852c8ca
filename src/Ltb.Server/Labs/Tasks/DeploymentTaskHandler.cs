using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;
using Ltb.Server.Data;
using Ltb.Server.Hosting;

namespace Ltb.Server.Labs.Tasks;

/// <summary>What a deployment task carries: the plan for the host and how to deploy it (apply: a reconfiguration).</summary>
public sealed record DeploymentInput(LabPlan Plan, AgentDeployOptions Options, bool Apply);

/// <summary>
/// Deploys (or applies) the lab's plan on its host. Success: the lab runs, with the host's status as its snapshot.
/// Failure: the lab is Failed with the error (what did deploy stays, destroyable, unless the deployment rolled back).
/// Retries: transport failures, up to the server's attempts; a retried deployment converges to the plan (the host keeps
/// a lab that runs whole from this very plan, else removes what is left and deploys the whole plan again), and a retried
/// reconfiguration deploys rather than applies.
/// </summary>
public sealed class DeploymentTaskHandler(LtbServerOptions serverOptions, LabStatusCache statuses, LabJournal journal)
    : LabTaskHandler<DeploymentInput, LabStatus>
{
    public override LabTaskKind Kind => LabTaskKind.Deployment;

    public override void Begin(LabTask task, Lab lab) => journal.SetState(lab, LabLifecycle.Deploying, null);

    protected override async Task<LabStatus> RunAsync(DeploymentInput input, LabTaskRun run, CancellationToken ct)
    {
        // A remote host receives the lab's uploaded files with the plan and the controller's VM images its VM nodes boot
        // from (the local one reads both where they are).
        var options = input.Options with
        {
            FilesRoot = LabFolders.FilesRoot(serverOptions.DataDirectory, run.LabId),
            VmImagesRoot = Catalog.VmImageStore.Folder(serverOptions),
        };
        return input.Apply && !run.IsRetry
            ? await run.Agent.ApplyAsync(input.Plan, options, run.Progress, ct)
            : await run.Agent.DeployAsync(input.Plan, options with { Converge = run.IsRetry }, run.Progress, ct);
    }

    protected override Task SucceededAsync(Lab lab, DeploymentInput input, LabStatus status, CancellationToken ct)
    {
        lab.StatusJson = LabViews.Serialize(LabViews.Snapshot(status, LabViews.Kinds(lab), DateTimeOffset.UtcNow));
        statuses.Set(lab.Id, status);
        journal.SetState(lab, LabLifecycle.Running, null);
        journal.Event(lab, LabEventLevel.Info, "lab running");
        return Task.CompletedTask;
    }

    public override Task FailedAsync(LabTask task, Lab lab, string error, CancellationToken ct)
    {
        // What the host holds of a failed lab changed: the next reader inspects it.
        statuses.Invalidate(lab.Id);
        journal.SetState(lab, LabLifecycle.Failed, error);
        return Task.CompletedTask;
    }
}
