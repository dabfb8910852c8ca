using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Ltb.Server.Labs.Placement;

/// <summary>
/// Placements one at a time, so that two labs deployed at once cannot both take the last free capacity of a host: held
/// from reading the hosts' allocations until the new lab and its deployment task are saved. In-process a semaphore; on
/// PostgreSQL also a transaction-scoped advisory lock, so that controller replicas sharing one database take turns too.
/// SQLite (the embedded default) serves one controller process, for which the semaphore is the whole guard.
/// </summary>
public sealed class PlacementLock : IAsyncDisposable
{
    /// <summary>An arbitrary constant that names "placement" among PostgreSQL advisory locks of this database.</summary>
    private const long AdvisoryKey = 0x4c54_4250_6c61_6365; // "LTBPlace"

    private static readonly SemaphoreSlim Gate = new(1, 1);

    private readonly IDbContextTransaction? _transaction;
    private bool _released;

    private PlacementLock(IDbContextTransaction? transaction) => _transaction = transaction;

    public static async Task<PlacementLock> AcquireAsync(LtbDbContext db, CancellationToken ct)
    {
        await Gate.WaitAsync(ct);
        try
        {
            if (!db.Database.IsNpgsql())
            {
                return new PlacementLock(null);
            }
            var transaction = await db.Database.BeginTransactionAsync(ct);
            await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_xact_lock({AdvisoryKey})", ct);
            return new PlacementLock(transaction);
        }
        catch
        {
            Gate.Release();
            throw;
        }
    }

    /// <summary>After the placed lab is saved: commits (ending the advisory lock) and lets the next placement in.</summary>
    public async Task CommitAsync(CancellationToken ct)
    {
        if (_transaction is not null)
        {
            await _transaction.CommitAsync(ct);
        }
        await DisposeAsync();
    }

    /// <summary>Without a commit (the deployment was refused or failed): rolls back and releases.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_released)
        {
            return;
        }
        _released = true;
        try
        {
            if (_transaction is not null)
            {
                await _transaction.DisposeAsync();
            }
        }
        finally
        {
            Gate.Release();
        }
    }
}
