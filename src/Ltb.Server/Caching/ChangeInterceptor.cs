using System.Runtime.CompilerServices;
using Ltb.Server.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Ltb.Server.Caching;

/// <summary>
/// Every SaveChanges of the server (and of `ltb admin reset-password`) passes here: what it changes of tokens, users,
/// role and group memberships, labs, lab events and hosts is noted before the save and published
/// (<see cref="ChangeSignals"/>) once it is committed. Bulk updates (ExecuteUpdate/ExecuteDelete) bypass EF's change
/// tracker: their callers publish themselves.
/// </summary>
public sealed class ChangeInterceptor(ChangeSignals signals) : SaveChangesInterceptor
{
    private readonly ConditionalWeakTable<DbContext, List<Change>> _pending = new();

    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        Note(eventData.Context);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        Note(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        if (Take(eventData.Context) is { Count: > 0 } changes)
        {
            signals.Publish(changes);
        }
        return result;
    }

    public override async ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result,
        CancellationToken cancellationToken = default)
    {
        if (Take(eventData.Context) is { Count: > 0 } changes)
        {
            // Not the request's token: the change is committed, so the others must hear of it even if the client left.
            await signals.PublishAsync(changes, CancellationToken.None);
        }
        return result;
    }

    public override void SaveChangesFailed(DbContextErrorEventData eventData)
    {
        // A failed save may still have changed rows (a retried batch): invalidating too much is harmless.
        if (Take(eventData.Context) is { Count: > 0 } changes)
        {
            signals.Publish(changes);
        }
    }

    public override async Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        if (Take(eventData.Context) is { Count: > 0 } changes)
        {
            await signals.PublishAsync(changes, CancellationToken.None);
        }
    }

    private void Note(DbContext? context)
    {
        if (context is null)
        {
            return;
        }
        var changes = _pending.GetOrCreateValue(context);
        foreach (var entry in context.ChangeTracker.Entries())
        {
            if (entry.State is EntityState.Added or EntityState.Modified or EntityState.Deleted && Of(entry) is { } change)
            {
                changes.Add(change);
            }
        }
    }

    private List<Change>? Take(DbContext? context)
    {
        if (context is null || !_pending.TryGetValue(context, out var changes))
        {
            return null;
        }
        _pending.Remove(context);
        return changes.Distinct().ToList();
    }

    /// <summary>What an added, changed or removed row makes stale (a new token or user makes nothing stale).</summary>
    private static Change? Of(EntityEntry entry) => (entry.Entity, entry.State) switch
    {
        (ApiToken t, not EntityState.Added) => Change.Token(t.Id),
        (LtbUser u, not EntityState.Added) => Change.User(u.Id),
        (IdentityUserRole<Guid> r, _) => Change.User(r.UserId),
        (GroupMember m, _) => Change.User(m.UserId),
        (Group, EntityState.Deleted) => Change.Everything,
        (LtbRole, not EntityState.Added) => Change.Everything,
        (Lab l, _) => Change.Lab(l.Id),
        (LabEvent e, _) => Change.Lab(e.LabId),
        (LabHost, _) => Change.HostsChanged,
        _ => null,
    };
}
