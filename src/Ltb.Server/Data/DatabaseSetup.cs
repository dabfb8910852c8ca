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
    /// <summary>Needs <see cref="Caching.ChangeInterceptor"/> registered: every save tells the read caches what it changed.</summary>
    public static IServiceCollection AddLtbDatabase(this IServiceCollection services, DatabaseProvider provider, string connectionString)
    {
        switch (provider)
        {
            case DatabaseProvider.Sqlite:
                // SQLite rebuilds a table to alter it, with foreign keys off, which cannot happen inside a transaction. EF
                // warns of that at every start of a fresh database; the embedded mode has one process, so it is noise.
                services.AddDbContext<LtbDbContext, SqliteLtbDbContext>((sp, o) => o.UseSqlite(connectionString)
                    .AddInterceptors(sp.GetRequiredService<Caching.ChangeInterceptor>())
                    .ConfigureWarnings(w => w.Ignore(RelationalEventId.NonTransactionalMigrationOperationWarning)));
                break;
            case DatabaseProvider.Postgres:
                services.AddDbContext<LtbDbContext, PostgresLtbDbContext>((sp, o) => o.UseNpgsql(connectionString)
                    .AddInterceptors(sp.GetRequiredService<Caching.ChangeInterceptor>()));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(provider), provider, "unknown database provider");
        }
        return services;
    }
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
