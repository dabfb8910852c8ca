using Ltb.Contracts;

namespace Ltb.Cli.Output;

/// <summary>
/// Live events (`ltb lab events`) as lines: one readable line per event (`-o text`), or the event's JSON object as the
/// server sent it, one per line (`-o json`, for scripts and `jq`). In text, a task shows when its state changes (its
/// progress lines are in the lab's event log, shown as they come), so nothing is printed twice.
/// </summary>
internal sealed class EventLines(bool json)
{
    private readonly Dictionary<Guid, string> _taskStates = [];

    /// <summary>The line for an event, or null when text leaves it out.</summary>
    public string? Format(LabLiveEventDto e, string raw)
    {
        if (json)
        {
            return raw;
        }
        var head = $"{e.At:HH:mm:ss} {e.LabName}";
        switch (e.Type)
        {
            case "lab":
                return $"{head} lab {e.State}{(e.Error is null ? "" : $": {e.Error}")}";
            case "node":
                return $"{head} node {e.Node} {e.State}";
            case "log":
                return $"{head} {(e.Level is "info" or null ? "" : e.Level + " ")}{(e.Node is null ? "" : e.Node + ": ")}{e.Message}";
            case "task" when e.Task is { } id:
                if (_taskStates.GetValueOrDefault(id) == e.State)
                {
                    return null;
                }
                if (_taskStates.Count > 1000)
                {
                    _taskStates.Clear();
                }
                _taskStates[id] = e.State ?? "";
                return $"{head} task {e.Kind} {e.State}{(e.Error is null ? "" : $": {e.Error}")}";
            default:
                return null;
        }
    }

    /// <summary>A note of the stream itself (events may have been missed): JSON as an object with its type, text for stderr.</summary>
    public string Note(string type, string message) =>
        json ? System.Text.Json.JsonSerializer.Serialize(new { type, message }) : $"ltb: {message}";
}
