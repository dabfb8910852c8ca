using Ltb.Server.Data;

namespace Ltb.Server.Labs.Tasks;

/// <summary>Thrown by the work of a task kind this server cannot do yet: final, and it says what is missing.</summary>
public sealed class TaskKindUnavailableException(string what) : Exception($"{what} are not available yet on this server");

/// <summary>
/// A task that works on a running lab without being its lifecycle: its failure never changes the lab's state (a failed
/// mirror or snapshot leaves the lab running); the runner records the error on the task and in the lab's events.
/// </summary>
public abstract class LabSideTaskHandler<TInput>(LabJournal journal) : LabTaskHandler<TInput, string>
{
    protected override Task SucceededAsync(Lab lab, TInput input, string done, CancellationToken ct)
    {
        journal.Event(lab, LabEventLevel.Info, done);
        return Task.CompletedTask;
    }

    public override Task FailedAsync(LabTask task, Lab lab, string error, CancellationToken ct) => Task.CompletedTask;
}
