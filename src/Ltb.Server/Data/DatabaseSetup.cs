using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Ltb.Server.Data;

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>Chooses the provider (and so the migration set) from the settings.</summary>
public static class DatabaseSetup
{
    public static IServiceCollection AddLtbDatabase(this IServiceCollection services, DatabaseProvider provider, string connectionString)
    {
        switch (provider)
        {
            case DatabaseProvider.Sqlite:
                // SQLite rebuilds a table to alter it, with foreign keys off, which cannot happen inside a transaction. EF
                // warns of that at every start of a fresh database; the embedded mode has one process, so it is noise.
                services.AddDbContext<LtbDbContext, SqliteLtbDbContext>((sp, o) => o.UseSqlite(connectionString)
                    .ConfigureWarnings(w => w.Ignore(RelationalEventId.NonTransactionalMigrationOperationWarning))
                    .AddInterceptors(Observers(sp)));
                break;
            case DatabaseProvider.Postgres:
                services.AddDbContext<LtbDbContext, PostgresLtbDbContext>((sp, o) => o.UseNpgsql(connectionString).AddInterceptors(Observers(sp)));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(provider), provider, "unknown database provider");
        }
        return services;
    }

    /// <summary>What watches every save: the read caches' invalidation and the live events (absent in design-time tools).</summary>
    private static IInterceptor[] Observers(IServiceProvider services) =>
        [.. services.GetService<Caching.ChangeInterceptor>() is { } cache ? [cache] : Array.Empty<IInterceptor>(),
         .. services.GetService<Events.LiveEventCapture>()?.Interceptors ?? []];
}

// Design-time factories: `dotnet ef migrations add NAME --context SqliteLtbDbContext -o Data/Migrations/Sqlite`
// (and PostgresLtbDbContext -o Data/Migrations/Postgres). The connection strings are never opened to add a migration.
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteLtbDbContext>
{
    public SqliteLtbDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteLtbDbContext>().UseSqlite("Data Source=design-time.db").Options);
}

internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresLtbDbContext>
{
    public PostgresLtbDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresLtbDbContext>().UseNpgsql("Host=127.0.0.1;Database=ltb_design").Options);
}
