using Ltb.Server.Data;

namespace Ltb.Server.Labs.Tasks;

/// <summary>
/// The one place where lab tasks record what happens to a lab: its event log (<see cref="LabEvent"/> rows), its state
/// changes, and the task's log and progress lines. Changes are added to the scoped DbContext and saved by the caller
/// (the runner saves them with the task's state), so nothing here is visible before it is stored.
/// </summary>
public sealed class LabJournal(LtbDbContext db)
{
    public const int MaxProgress = 2000;
    public const int MaxMessage = 4000;

    /// <summary>One line of the lab's event log.</summary>
    public void Event(Lab lab, LabEventLevel level, string message, string? node = null, DateTimeOffset? at = null) =>
        db.LabEvents.Add(new LabEvent
        {
            LabId = lab.Id, At = at ?? DateTimeOffset.UtcNow, Level = level, Node = node, Message = Truncate(message, MaxMessage),
        });

    /// <summary>The lab's state (and its error: null clears it).</summary>
    public void SetState(Lab lab, LabLifecycle state, string? error)
    {
        lab.State = state;
        lab.Error = error;
        lab.UpdatedAt = DateTimeOffset.UtcNow;
    }

    /// <summary>A line of the task's log; a progress line also becomes the task's last progress.</summary>
    public void TaskLine(LabTask task, string line, DateTimeOffset at, bool progress)
    {
        task.Log += $"{at:HH:mm:ss} {line}\n";
        if (progress)
        {
            task.Progress = Truncate(line, MaxProgress);
        }
    }

    public static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}
