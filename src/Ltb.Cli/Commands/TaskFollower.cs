using System.Net.ServerSentEvents;
using System.Text.Json;
using Ltb.Cli.Api;
using Ltb.Client;
using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>
/// How `ltb lab deploy` and `destroy` wait for their task: they follow the lab's live events (Server-Sent Events,
/// GET /api/v1/labs/{lab}/events) and print the task's log lines as they come, reading the task itself only when the
/// stream opens (what happened before), when the server says events may have been missed, and when the stream is silent
/// for <see cref="Silence"/> (a safety net, not polling). A server whose stream cannot be opened (an older server) is
/// polled as before, silently.
/// </summary>
internal sealed class TaskFollower(LtbApiClient client, Guid labId)
{
    public static readonly TimeSpan Silence = TimeSpan.FromSeconds(20);
    /// <summary>Polling, where there is no stream: a lab that is ready should not wait a whole second for the command to notice.</summary>
    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(250);
    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    private int _printed;

    public async Task<LabTaskDto> FollowAsync(LabTaskDto task, CancellationToken ct)
    {
        Print(task);
        while (!Done(task))
        {
            HttpResponseMessage stream;
            try
            {
                stream = await client.StreamLabEventsAsync(labId.ToString(), null, ct);
            }
            catch (LtbApiException)
            {
                return await PollAsync(task, ct);
            }
            using (stream)
            {
                // Subscribed: whatever the task did before is read once; from here on the events say it.
                task = await ReadAsync(task.Id, ct);
                if (Done(task))
                {
                    return task;
                }
                task = await FollowStreamAsync(stream, task, ct);
            }
        }
        return task;
    }

    private async Task<LabTaskDto> FollowStreamAsync(HttpResponseMessage stream, LabTaskDto task, CancellationToken ct)
    {
        await using var body = await stream.Content.ReadAsStreamAsync(ct);
        await using var items = SseParser.Create(body).EnumerateAsync(ct).GetAsyncEnumerator(ct);
        var next = items.MoveNextAsync().AsTask();
        while (true)
        {
            using var silence = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var silent = await Task.WhenAny(next, Task.Delay(Silence, silence.Token)) != next;
            await silence.CancelAsync();
            if (silent)
            {
                task = await ReadAsync(task.Id, ct);
                if (Done(task))
                {
                    return task;
                }
                continue;
            }
            if (!await next)
            {
                return task; // the stream ended (its lifetime, a restarting server): the caller opens it again
            }
            var item = items.Current;
            if (item.EventType is "resync" or "overflow")
            {
                task = await ReadAsync(task.Id, ct);
            }
            else if (item.EventType == "task" && JsonSerializer.Deserialize<LabLiveEventDto>(item.Data, Json) is { } e && e.Task == task.Id)
            {
                if (e.LogIndex is { } index && index + (e.Log?.Count ?? 0) > _printed)
                {
                    if (index > _printed)
                    {
                        task = await ReadAsync(task.Id, ct); // lines were missed: the task has them all
                    }
                    else
                    {
                        PrintLines(e.Log!, index);
                    }
                }
                if (e.State is "succeeded" or "failed" or "interrupted")
                {
                    task = await ReadAsync(task.Id, ct); // the whole error, and any line still unprinted
                }
            }
            if (Done(task))
            {
                return task;
            }
            next = items.MoveNextAsync().AsTask();
        }
    }

    private async Task<LabTaskDto> PollAsync(LabTaskDto task, CancellationToken ct)
    {
        while (!Done(task))
        {
            await Task.Delay(PollEvery, ct);
            task = await ReadAsync(task.Id, ct);
        }
        return task;
    }

    private async Task<LabTaskDto> ReadAsync(Guid id, CancellationToken ct)
    {
        var task = await client.GetTaskAsync(id, ct);
        Print(task);
        return task;
    }

    private void Print(LabTaskDto task) => PrintLines(task.Log, 0);

    /// <summary>Prints the lines not printed yet of those starting at line number <paramref name="index"/> of the task's log.</summary>
    private void PrintLines(IReadOnlyList<string> lines, int index)
    {
        for (var i = Math.Max(0, _printed - index); i < lines.Count; i++)
        {
            Console.WriteLine($"  {lines[i]}");
        }
        _printed = Math.Max(_printed, index + lines.Count);
    }

    private static bool Done(LabTaskDto task) => task.State is "succeeded" or "failed" or "interrupted";
}
