using Npgsql;

namespace Ltb.Server.Data;

/// <summary>
/// LISTENs on a PostgreSQL channel until stopped, over a connection of its own, and connects again after losing it:
/// the one loop behind the read caches' change feed and the live events across replicas. What arrived while the
/// connection was down is lost; <c>connected</c> runs after every (re)connection so that the caller can make up for it.
/// </summary>
internal static class PostgresListener
{
    public static async Task RunAsync(string connectionString, string channel, Action<string> received, Action connected,
        Action<Exception> lost, TimeSpan retryAfter, CancellationToken ct)
    {
        // Keepalives make a silently dropped connection fail the wait instead of hanging in it.
        var own = new NpgsqlConnectionStringBuilder(connectionString) { KeepAlive = 5, Pooling = false }.ConnectionString;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(own);
                connection.Notification += (_, n) => received(n.Payload);
                await connection.OpenAsync(ct);
                await using (var listen = new NpgsqlCommand($"LISTEN {channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(ct);
                }
                connected();
                while (true)
                {
                    await connection.WaitAsync(ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException or InvalidOperationException)
            {
                lost(e);
                try
                {
                    await Task.Delay(retryAfter, ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
