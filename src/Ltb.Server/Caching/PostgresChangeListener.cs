using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ltb.Server.Caching;

/// <summary>
/// PostgreSQL only: LISTENs on <see cref="ChangeSignals.Channel"/> over a connection of its own and hands what other
/// replicas changed to <see cref="ChangeSignals"/>. While the connection is down the caches are off (every request
/// reads the database), and they start empty when it is back, so a notification lost with the connection costs time,
/// never a stale answer.
/// </summary>
internal sealed class PostgresChangeListener(LtbServerOptions options, ChangeSignals signals, ILogger<PostgresChangeListener> log)
    : BackgroundService
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await PostgresListener.RunAsync(options.ResolveConnectionString(), ChangeSignals.Channel, signals.Receive,
            () => signals.SetLive(true),
            e =>
            {
                signals.SetLive(false);
                log.LogWarning("the change feed from the other replicas is down ({Message}); the read caches are off until it is back", e.Message);
            },
            RetryAfter, stoppingToken);
        signals.SetLive(false);
    }
}
