using Ltb.Server.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

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
        // Keepalives make a silently dropped connection fail the wait instead of hanging in it.
        var connectionString = new NpgsqlConnectionStringBuilder(options.ResolveConnectionString()) { KeepAlive = 5, Pooling = false }.ConnectionString;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += (_, e) => signals.Receive(e.Payload);
                await using (var listen = new NpgsqlCommand($"LISTEN {ChangeSignals.Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }
                signals.SetLive(true);
                while (true)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException or InvalidOperationException)
            {
                signals.SetLive(false);
                log.LogWarning("the change feed from the other replicas is down ({Message}); the read caches are off until it is back", e.Message);
                await Task.Delay(RetryAfter, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
        signals.SetLive(false);
    }
}
