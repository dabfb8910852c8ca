using Ltb.Runtime.Capture;
using Ltb.Server.Data;

namespace Ltb.Server.Labs.Tasks;

/// <summary>
/// A mirror interface to create on the link end Node:Interface, or (Remove) the mirror named Name to remove (its Node
/// says which host has it).
/// </summary>
public sealed record MirrorInterfaceInput(string Node, string Interface, string Name, bool Remove = false);

/// <summary>
/// Creates or removes a mirror interface on the host of the mirrored node (<see cref="MirrorInterfaces"/> in the
/// runtime). Success: an event in the lab's log, the lab's status read again (the mirror is listed with its links).
/// Failure: recorded on the task and in the lab's events, the lab keeps its state (a failed mirror does not fail the
/// lab). Retries: transport failures (creating and removing are refused, not repeated, when already done).
/// </summary>
public sealed class MirrorInterfaceTaskHandler(LabJournal journal, LabStatusCache statuses) : LabSideTaskHandler<MirrorInterfaceInput>(journal)
{
    public override LabTaskKind Kind => LabTaskKind.Mirror;

    public override LabTaskRetry Retry => LabTaskRetry.OnTransportFailures;

    protected override async Task<string> RunAsync(MirrorInterfaceInput input, LabTaskRun run, CancellationToken ct)
    {
        var request = new MirrorRequest(run.RuntimeName, input.Node, input.Interface, input.Name);
        if (run.IsRetry && await AlreadyDoneAsync(input, run, ct))
        {
            return Done(input);
        }
        await run.Agent.MirrorAsync(request, input.Remove, ct);
        return Done(input);
    }

    /// <summary>An earlier attempt may have done the work and lost its answer: the host's list says.</summary>
    private static async Task<bool> AlreadyDoneAsync(MirrorInterfaceInput input, LabTaskRun run, CancellationToken ct)
    {
        var status = await run.Agent.InspectAsync(run.RuntimeName, ct);
        var exists = status.Mirrors.Any(m => m.Name == input.Name && m.Node == input.Node);
        return exists != input.Remove;
    }

    private static string Done(MirrorInterfaceInput input) => input.Remove
        ? $"mirror interface '{input.Name}' of {input.Node}:{input.Interface} removed"
        : $"mirror interface '{input.Name}' created: it receives a copy of {input.Node}:{input.Interface}'s traffic";

    protected override async Task SucceededAsync(Lab lab, MirrorInterfaceInput input, string done, CancellationToken ct)
    {
        statuses.Invalidate(lab.Id);
        await base.SucceededAsync(lab, input, done, ct);
    }
}
