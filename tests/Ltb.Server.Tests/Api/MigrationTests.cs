using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Tests.Api;

/// <summary>Both migration sets match the model: a model change without its two migrations fails here, not at a user's start.</summary>
public sealed class MigrationTests
{
    [Fact]
    public void The_SQLite_migrations_match_the_model()
    {
        using var db = new SqliteDesignTimeFactory().CreateDbContext([]);
        Assert.False(db.Database.HasPendingModelChanges(),
            "the model changed: add a migration for SQLite (see docs/architecture.md, 'Adding an API resource')");
    }

    [Fact]
    public void The_PostgreSQL_migrations_match_the_model()
    {
        using var db = new PostgresDesignTimeFactory().CreateDbContext([]);
        Assert.False(db.Database.HasPendingModelChanges(),
            "the model changed: add a migration for PostgreSQL (see docs/architecture.md, 'Adding an API resource')");
    }
}
