using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ltb.Server.Caching;

/// <summary>
/// SQLite only: the embedded server is one process, so every change made through it passes through
/// <see cref="ChangeSignals"/>. A command that writes the same database from another process on the server machine
/// (`ltb admin reset-password`) touches the marker file <c>&lt;database&gt;.changes</c> after its save; this service
/// watches that file and drops everything the read caches hold, so the reset is seen by the very next request.
/// </summary>
internal sealed class SqliteChangeFeed(LtbServerOptions options, ChangeSignals signals, ILogger<SqliteChangeFeed> log)
    : IHostedService, IDisposable
{
    private FileSystemWatcher? _watcher;

    /// <summary>The marker next to the database file, or null for an in-memory database.</summary>
    public static string? MarkerOf(LtbServerOptions options)
    {
        var source = new SqliteConnectionStringBuilder(options.ResolveConnectionString()).DataSource;
        return string.IsNullOrEmpty(source) || source == ":memory:" ? null : Path.GetFullPath(source) + ".changes";
    }

    /// <summary>Tells a running embedded server on this database that its caches are stale.</summary>
    public static void Touch(LtbServerOptions options)
    {
        if (options.Database == DatabaseProvider.Sqlite && MarkerOf(options) is { } marker)
        {
            File.WriteAllText(marker, DateTimeOffset.UtcNow.ToString("O") + "\n");
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (MarkerOf(options) is not { } marker)
        {
            return Task.CompletedTask;
        }
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(marker)!, Path.GetFileName(marker))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size,
        };
        _watcher.Changed += (_, _) => signals.Receive(Change.Everything);
        _watcher.Created += (_, _) => signals.Receive(Change.Everything);
        // inotify's queue overflowed: a change may have been missed, so drop everything as well.
        _watcher.Error += (_, e) =>
        {
            log.LogWarning(e.GetException(), "watching {Marker} failed; dropping the read caches", marker);
            signals.Receive(Change.Everything);
        };
        _watcher.EnableRaisingEvents = true;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _watcher = null;
    }
}
