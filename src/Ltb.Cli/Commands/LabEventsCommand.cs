using System.CommandLine;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Ltb.Cli.Api;
using Ltb.Client;
using Ltb.Cli.Output;
using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb lab events LAB` (or `--all`): prints a lab's live events as they come (GET /api/v1/labs/{lab}/events, or
/// /api/v1/events) until Ctrl-C. A stream the server ends (its lifetime) is opened again, resuming after the last
/// event-log line seen (Last-Event-ID).
/// </summary>
internal static class LabEventsCommand
{
    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    public static Command Create(Option<string> server)
    {
        var lab = new Argument<string?>("LAB") { Description = "The lab's name (one of yours) or id.", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "Every lab you may see, instead of one." };
        var output = new Option<string>("--output", "-o") { Description = "text (one line per event) or json (one object per line) [default: text]", DefaultValueFactory = _ => "text" };
        output.AcceptOnlyFromAmong("text", "json");
        var command = new Command("events", "Print a lab's live events as they come (state changes, task progress, event log, node states) until Ctrl-C.")
        {
            lab, all, output, server,
        };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            var name = parse.GetValue(lab);
            if ((name is null) != parse.GetValue(all))
            {
                throw new LtbApiException(0, "give a lab (ltb lab events LAB) or --all, one of the two");
            }
            using var client = ServerConnection.Connect(parse.GetValue(server));
            await PrintAsync(client, name, new EventLines(parse.GetValue(output) == "json"), ct);
            return 0;
        }));
        return command;
    }

    private static async Task PrintAsync(LtbApiClient client, string? lab, EventLines lines, CancellationToken ct)
    {
        string? lastId = null;
        try
        {
            while (true)
            {
                using var stream = await client.StreamLabEventsAsync(lab, lastId, ct);
                await using var body = await stream.Content.ReadAsStreamAsync(ct);
                await foreach (var item in SseParser.Create(body).EnumerateAsync(ct))
                {
                    if (!string.IsNullOrEmpty(item.EventId))
                    {
                        lastId = item.EventId;
                    }
                    if (item.EventType is "resync" or "overflow")
                    {
                        var message = JsonDocument.Parse(item.Data).RootElement.GetProperty("message").GetString() ?? item.EventType;
                        var note = lines.Note(item.EventType, message);
                        (note.StartsWith('{') ? Console.Out : Console.Error).WriteLine(note);
                        continue;
                    }
                    if (JsonSerializer.Deserialize<LabLiveEventDto>(item.Data, Json) is { } e && lines.Format(e, item.Data) is { } line)
                    {
                        Console.WriteLine(line);
                    }
                }
                await Task.Delay(TimeSpan.FromSeconds(1), ct); // the server ended the stream: open it again
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Ctrl-C
        }
    }
}
