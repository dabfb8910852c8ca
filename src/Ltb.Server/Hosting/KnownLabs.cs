using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Hosting;

/// <summary>
/// The labs a controller's database knows (their runtime names, what the hosts call them), read without starting the
/// server: `ltb host prune` removes from the host only labs outside this set.
/// </summary>
public static class KnownLabs
{
    /// <summary>The known runtime names; null when there is no database (a SQLite data folder that is gone).</summary>
    public static async Task<IReadOnlySet<string>?> RuntimeNamesAsync(LtbServerOptions options, CancellationToken ct)
    {
        if (options.Database == DatabaseProvider.Sqlite && options.ConnectionString is null
            && !File.Exists(Path.Combine(options.DataDirectory, "ltb.db")))
        {
            return null;
        }
        var services = new ServiceCollection();
        services.AddLtbDatabase(options.Database, options.ResolveConnectionString());
        await using var provider = services.BuildServiceProvider();
        await using var scope = provider.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        // Read only: a database of an older release is not migrated by a cleanup command (its labs table has the names).
        var names = await db.Labs.AsNoTracking().Select(l => l.RuntimeName).ToListAsync(ct);
        return names.ToHashSet(StringComparer.Ordinal);
    }
}
