using Ltb.Server.Data;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Ltb.Server.Tests.Infrastructure;

/// <summary>A fresh, empty database for one server under test; dropped afterwards.</summary>
public abstract class TestDatabase : IAsyncDisposable
{
    public abstract DatabaseProvider Provider { get; }

    public abstract string ConnectionString { get; }

    /// <summary>The server's data folder (a temp folder in both cases).</summary>
    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("ltb-server-test-").FullName;

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a closing connection; the temp folder is cleaned by the system later.
        }
        return ValueTask.CompletedTask;
    }
}

public sealed class SqliteTestDatabase : TestDatabase
{
    public override DatabaseProvider Provider => DatabaseProvider.Sqlite;

    public override string ConnectionString => $"Data Source={Path.Combine(DataDirectory, "ltb.db")}";

    public override ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        return base.DisposeAsync();
    }
}

/// <summary>
/// A database of its own on the PostgreSQL that scripts/lib.sh (start_postgres) runs on loopback for the test suite,
/// reached as LTB_TEST_POSTGRES (default: the ltb_test role on 127.0.0.1).
/// </summary>
public sealed class PostgresTestDatabase : TestDatabase
{
    public const string DefaultServer = "Host=127.0.0.1;Port=5432;Username=ltb_test;Password=ltb_test;Database=ltb_test";

    private readonly string _admin;
    private readonly string _name = "ltb_t_" + Guid.NewGuid().ToString("N")[..16];

    private PostgresTestDatabase(string admin) => _admin = admin;

    public override DatabaseProvider Provider => DatabaseProvider.Postgres;

    public override string ConnectionString =>
        new NpgsqlConnectionStringBuilder(_admin) { Database = _name, Pooling = true }.ConnectionString;

    public static string Server => Environment.GetEnvironmentVariable("LTB_TEST_POSTGRES") is { Length: > 0 } s ? s : DefaultServer;

    /// <summary>The database, or the reason PostgreSQL cannot be used.</summary>
    public static async Task<(PostgresTestDatabase? Database, string? Unavailable)> CreateAsync()
    {
        // No PostgreSQL on loopback refuses the connection at once; a slow answer is a PostgreSQL busy with the whole
        // suite on a 2-core machine (a 5 s bound timed out in CI), so the bounds are generous.
        var admin = new NpgsqlConnectionStringBuilder(Server) { Pooling = false, Timeout = 60, CommandTimeout = 120 }.ConnectionString;
        var db = new PostgresTestDatabase(admin);
        try
        {
            await using var connection = new NpgsqlConnection(admin);
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{db._name}\"", connection);
            await create.ExecuteNonQueryAsync();
            return (db, null);
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            await db.DisposeAsync();
            return (null, $"PostgreSQL on loopback as in LTB_TEST_POSTGRES ({e.Message})");
        }
    }

    public override async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var connection = new NpgsqlConnection(_admin);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_name}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // Never created, or the server went away: nothing left to drop.
        }
        await base.DisposeAsync();
    }
}
