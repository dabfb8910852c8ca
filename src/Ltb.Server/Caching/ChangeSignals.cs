using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Ltb.Server.Caching;

/// <summary>
/// Tells the read caches of this process, and of every replica on the same PostgreSQL database, what a change made
/// stale. Locally at once (before the request that changed it answers); to the other replicas through PostgreSQL's
/// NOTIFY on <see cref="Channel"/>, which <see cref="PostgresChangeListener"/> receives. The caches answer only while
/// <see cref="Live"/>: on PostgreSQL that is while the listener's connection is up, so a replica that may have missed a
/// notification reads the database instead of its cache.
/// </summary>
public sealed class ChangeSignals
{
    public const string Channel = "ltb_changes";

    /// <summary>NOTIFY payloads must stay under 8000 bytes; a longer batch is sent as "everything".</summary>
    private const int MaxPayload = 7000;

    private readonly List<Action<Change>> _subscribers = [];
    private readonly string? _postgres;
    private readonly ILogger<ChangeSignals> _log;
    private volatile bool _live;

    public ChangeSignals(LtbServerOptions options, ILogger<ChangeSignals> log)
    {
        _log = log;
        _postgres = options.Database == DatabaseProvider.Postgres ? options.ResolveConnectionString() : null;
        // SQLite is the embedded server: one process, so every change passes through here.
        _live = _postgres is null;
    }

    /// <summary>This process's id in payloads, so that it skips its own notifications (applied locally already).</summary>
    public string Origin { get; } = Guid.NewGuid().ToString("N");

    public bool Live => _live;

    public void Subscribe(Action<Change> apply)
    {
        lock (_subscribers)
        {
            _subscribers.Add(apply);
        }
    }

    /// <summary>Applies the changes here and tells the other replicas. Call it after the change is committed.</summary>
    public async Task PublishAsync(IReadOnlyCollection<Change> changes, CancellationToken ct = default)
    {
        if (changes.Count == 0)
        {
            return;
        }
        Apply(changes);
        if (_postgres is null)
        {
            return;
        }
        try
        {
            await using var connection = new NpgsqlConnection(_postgres);
            await connection.OpenAsync(ct);
            await using var notify = new NpgsqlCommand("SELECT pg_notify(@channel, @payload)", connection);
            notify.Parameters.AddWithValue("channel", Channel);
            notify.Parameters.AddWithValue("payload", Payload(changes));
            await notify.ExecuteNonQueryAsync(ct);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException)
        {
            // The change is committed; the other replicas' caches keep the old answer for at most their lifetime.
            _log.LogError(e, "could not tell the other replicas about a change ({Changes}); their caches may answer from before it for up to their lifetime",
                string.Join(' ', changes.Take(5)));
        }
    }

    public void Publish(IReadOnlyCollection<Change> changes) => PublishAsync(changes).GetAwaiter().GetResult();

    /// <summary>A payload from another replica (or this one's echo, skipped).</summary>
    internal void Receive(string payload)
    {
        var bar = payload.IndexOf('|', StringComparison.Ordinal);
        if (bar > 0 && payload.AsSpan(0, bar).SequenceEqual(Origin))
        {
            return;
        }
        Apply([.. payload[(bar + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Change.Decode)]);
    }

    /// <summary>A change another process on this database made (see <see cref="SqliteChangeFeed"/>).</summary>
    internal void Receive(Change change) => Apply([change]);

    /// <summary>The listener's connection came up (true) or dropped (false): either way, nothing cached can be trusted.</summary>
    internal void SetLive(bool live)
    {
        _live = false;
        Apply([Change.Everything]);
        _live = live;
    }

    private string Payload(IReadOnlyCollection<Change> changes)
    {
        var body = string.Join(',', changes.Distinct().Select(c => c.Encode()));
        return Origin + "|" + (body.Length > MaxPayload ? Change.Everything.Encode() : body);
    }

    private void Apply(IReadOnlyCollection<Change> changes)
    {
        Action<Change>[] subscribers;
        lock (_subscribers)
        {
            subscribers = [.. _subscribers];
        }
        foreach (var change in changes)
        {
            foreach (var apply in subscribers)
            {
                apply(change);
            }
        }
    }
}
