using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Ltb.Server.Data;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Ltb.Server.Events;

/// <summary>
/// Live events across replicas (`ltb serve --replica` on one PostgreSQL): each replica sends the events it publishes with
/// <c>pg_notify</c> on the channel <see cref="Channel"/> and LISTENs on it, delivering the other replicas' events to its
/// own subscribers (its own come back too and are skipped by origin). Chosen over tailing the LabEvents table because
/// lab and task state changes are not rows there, and a sequence's ids are not in commit order, so a tail by id would
/// miss rows; NOTIFY is delivered at commit, in order, to every listener. A notification that arrives while a replica's
/// listener is reconnecting is lost: after reconnecting, the replica sends every subscriber a <c>resync</c> event, and
/// clients read the state again (the CLI reads its task). Sending never blocks the publisher: a bounded outbox whose
/// oldest entries go first when the database stalls.
/// </summary>
public sealed class PostgresEventRelay(LiveEventHub hub, string connectionString, ILogger<PostgresEventRelay> log)
    : BackgroundService, ILiveEventRelay
{
    public const string Channel = "ltb_live_events";
    /// <summary>PostgreSQL's limit is 8000 bytes per payload.</summary>
    private const int MaxPayload = 7800;
    private static readonly TimeSpan Backoff = TimeSpan.FromSeconds(2);

    private readonly Channel<string> _outbox = System.Threading.Channels.Channel.CreateBounded<string>(
        new BoundedChannelOptions(10_000) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest });

    public void Send(LiveEvent e) => _outbox.Writer.TryWrite(Payload(e));

    /// <summary>The event as JSON that fits a notification: a long message is cut until it does.</summary>
    public static string Payload(LiveEvent e)
    {
        var json = JsonSerializer.Serialize(e, LiveEvent.Json);
        while (Encoding.UTF8.GetByteCount(json) > MaxPayload)
        {
            var d = e.Data;
            e = e with
            {
                Data = d with
                {
                    Message = d.Message is { Length: > 16 } m ? m[..(m.Length / 2)] : d.Message,
                    Log = d.Log is { Count: > 1 } l ? l.Take(l.Count / 2).ToList() : d.Log?.Select(x => x[..Math.Min(x.Length, 1000)]).ToList(),
                    Error = d.Error is { Length: > 16 } r ? r[..(r.Length / 2)] : d.Error,
                },
            };
            json = JsonSerializer.Serialize(e, LiveEvent.Json);
        }
        return json;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        hub.Relay = this;
        await Task.WhenAll(ListenAsync(stoppingToken), SendAsync(stoppingToken));
    }

    private Task ListenAsync(CancellationToken ct)
    {
        var connected = false;
        return PostgresListener.RunAsync(connectionString, Channel, Received,
            () =>
            {
                if (connected)
                {
                    hub.Resync(); // what came while the listener was away is lost
                }
                connected = true;
            },
            e => log.LogWarning("live events from other replicas: the listener lost the database ({Message}); reconnecting", e.Message),
            Backoff, ct);
    }

    private void Received(string payload)
    {
        try
        {
            var e = JsonSerializer.Deserialize<LiveEvent>(payload, LiveEvent.Json);
            if (e is not null && e.Origin != hub.Origin)
            {
                hub.Remember(e.Data.Lab, e.Data.LabName, e.OwnerId, e.GroupId);
                hub.Deliver(e);
            }
        }
        catch (JsonException)
        {
            // Not ours (another program on the channel): ignored.
        }
    }

    private async Task SendAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(ct);
                await foreach (var payload in _outbox.Reader.ReadAllAsync(ct))
                {
                    await using var notify = new NpgsqlCommand("SELECT pg_notify(@channel, @payload)", connection);
                    notify.Parameters.AddWithValue("channel", Channel);
                    notify.Parameters.AddWithValue("payload", payload);
                    await notify.ExecuteNonQueryAsync(ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or IOException)
            {
                log.LogWarning("live events to other replicas: the sender lost the database ({Message}); reconnecting", e.Message);
                await Delay(ct);
            }
        }
    }

    private static async Task Delay(CancellationToken ct)
    {
        try
        {
            await Task.Delay(Backoff, ct);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
