using System.Data.Common;
using System.Runtime.CompilerServices;
using Ltb.Server.Api;
using Ltb.Server.Data;
using Ltb.Server.Labs;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Ltb.Server.Events;

/// <summary>
/// Where lab, task and event-log changes become live events: what the store saves. An EF Core interceptor looks at the
/// changes of each save (a lab whose state changed, a task created or changed with its new log lines, a new event-log
/// row) and publishes them on <see cref="LiveEventHub"/> once they are committed: after the save, or, inside an explicit
/// transaction (placement on PostgreSQL), after its commit (a rollback publishes nothing). So the task runner and the
/// endpoints publish without a line of their own, and nothing is published that a reader of the store would not see.
/// Changes made with ExecuteUpdate bypass it (the task claim is followed by a saved log line, which does publish).
/// </summary>
public sealed class LiveEventCapture(LiveEventHub hub)
{
    private const int MaxLineLength = 2000;
    private const int MaxChunk = 3000;

    private readonly ConditionalWeakTable<DbContext, List<Func<LiveEvent>>> _saving = new();
    private readonly ConditionalWeakTable<DbContext, List<Func<LiveEvent>>> _uncommitted = new();

    public IInterceptor[] Interceptors => [new Saves(this), new Transactions(this)];

    private async ValueTask CaptureAsync(DbContext? context, bool async, CancellationToken ct)
    {
        if (context is null)
        {
            return;
        }
        var tracker = context.ChangeTracker;
        var labs = tracker.Entries<Lab>().ToDictionary(e => e.Entity.Id, e => e.Entity);
        foreach (var lab in labs.Values)
        {
            hub.Remember(lab.Id, lab.Name, lab.OwnerId, lab.GroupId);
        }
        var tasks = tracker.Entries<LabTask>().Where(Changed).ToList();
        var rows = tracker.Entries<LabEvent>().Where(e => e.State == EntityState.Added).Select(e => e.Entity).ToList();
        var changedLabs = tracker.Entries<Lab>().Where(e => e.State == EntityState.Added
            || (e.State == EntityState.Modified && !Equals(e.Property(l => l.State).OriginalValue, e.Entity.State))).ToList();
        if (tasks.Count == 0 && rows.Count == 0 && changedLabs.Count == 0)
        {
            return;
        }
        var missing = tasks.Select(t => t.Entity.LabId).Concat(rows.Select(r => r.LabId))
            .Where(id => !labs.ContainsKey(id) && hub.Lab(id) is null).Distinct().ToList();
        if (missing.Count > 0)
        {
            var query = context.Set<Lab>().AsNoTracking().Where(l => missing.Contains(l.Id)).Select(l => new { l.Id, l.Name, l.OwnerId, l.GroupId });
            foreach (var l in async ? await query.ToListAsync(ct) : query.ToList())
            {
                hub.Remember(l.Id, l.Name, l.OwnerId, l.GroupId);
            }
        }

        var now = DateTimeOffset.UtcNow;
        var events = new List<Func<LiveEvent>>();
        foreach (var entry in changedLabs)
        {
            var lab = entry.Entity;
            var state = LabViews.State(lab.State);
            events.Add(() => new LiveEvent(new LabLiveEventDto("lab", lab.Id, lab.Name, now) { State = state, Error = Cut(lab.Error) },
                lab.OwnerId, lab.GroupId));
        }
        foreach (var entry in tasks)
        {
            AddTask(events, entry, now);
        }
        foreach (var row in rows)
        {
            // The id is the database's: read after the save.
            events.Add(() => Of(row.LabId, new LabLiveEventDto("log", row.LabId, "", row.At)
            {
                Id = row.Id, Level = row.Level.ToString().ToLowerInvariant(), Node = row.Node, Message = Cut(row.Message),
            }));
        }
        _saving.AddOrUpdate(context, events);
    }

    private static bool Changed(EntityEntry<LabTask> e) => e.State == EntityState.Added || (e.State == EntityState.Modified
        && (e.Property(t => t.State).IsModified || e.Property(t => t.Progress).IsModified || e.Property(t => t.Log).IsModified
            || e.Property(t => t.Error).IsModified));

    /// <summary>A task's state with the log lines this save adds, in chunks that stay small on the wire.</summary>
    private void AddTask(List<Func<LiveEvent>> events, EntityEntry<LabTask> entry, DateTimeOffset now)
    {
        var task = entry.Entity;
        var before = entry.State == EntityState.Added ? "" : entry.Property(t => t.Log).OriginalValue ?? "";
        var added = task.Log.StartsWith(before, StringComparison.Ordinal) ? task.Log[before.Length..] : task.Log;
        var index = entry.State == EntityState.Added || !task.Log.StartsWith(before, StringComparison.Ordinal) ? 0 : Lines(before).Length;
        var lines = Lines(added).Select(l => l.Length <= MaxLineLength ? l : l[..MaxLineLength]).ToList();
        var template = new LabLiveEventDto("task", task.LabId, "", now)
        {
            Task = task.Id, Kind = task.Kind.ToString().ToLowerInvariant(), State = task.State.ToString().ToLowerInvariant(),
            Progress = Cut(task.Progress), Error = Cut(task.Error),
        };
        var chunk = new List<string>();
        var size = 0;
        foreach (var line in lines)
        {
            if (chunk.Count > 0 && size + line.Length > MaxChunk)
            {
                var first = index;
                var part = chunk;
                events.Add(() => Of(task.LabId, template with { LogIndex = first, Log = part }));
                index += chunk.Count;
                chunk = [];
                size = 0;
            }
            chunk.Add(line);
            size += line.Length;
        }
        var last = index;
        events.Add(() => Of(task.LabId, template with { LogIndex = chunk.Count > 0 ? last : null, Log = chunk.Count > 0 ? chunk : null }));
    }

    private LiveEvent Of(Guid labId, LabLiveEventDto data)
    {
        var lab = hub.Lab(labId);
        return new LiveEvent(data with { LabName = lab?.Name ?? "" }, lab?.Owner ?? Guid.Empty, lab?.Group);
    }

    private static string[] Lines(string log) => log.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static string? Cut(string? s) => s is null || s.Length <= MaxLineLength ? s : s[..MaxLineLength];

    private void Saved(DbContext? context)
    {
        if (context is null || !_saving.TryGetValue(context, out var events))
        {
            return;
        }
        _saving.Remove(context);
        if (context.Database.CurrentTransaction is not null)
        {
            _uncommitted.GetOrCreateValue(context).AddRange(events);
            return;
        }
        Publish(events);
    }

    private void Publish(List<Func<LiveEvent>> events)
    {
        foreach (var make in events)
        {
            var e = make();
            if (e.OwnerId != Guid.Empty)
            {
                hub.Publish(e);
            }
        }
    }

    private void Committed(DbContext? context)
    {
        if (context is not null && _uncommitted.TryGetValue(context, out var events))
        {
            _uncommitted.Remove(context);
            Publish(events);
        }
    }

    private void Discard(DbContext? context, bool transaction)
    {
        if (context is not null)
        {
            (transaction ? _uncommitted : _saving).Remove(context);
        }
    }

    private sealed class Saves(LiveEventCapture capture) : SaveChangesInterceptor
    {
        public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
        {
            capture.CaptureAsync(eventData.Context, false, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            return result;
        }

        public override async ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData,
            InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            await capture.CaptureAsync(eventData.Context, true, cancellationToken);
            return result;
        }

        public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
        {
            capture.Saved(eventData.Context);
            return result;
        }

        public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
        {
            capture.Saved(eventData.Context);
            return ValueTask.FromResult(result);
        }

        public override void SaveChangesFailed(DbContextErrorEventData eventData) => capture.Discard(eventData.Context, false);

        public override Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
        {
            capture.Discard(eventData.Context, false);
            return Task.CompletedTask;
        }
    }

    private sealed class Transactions(LiveEventCapture capture) : DbTransactionInterceptor
    {
        public override void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => capture.Committed(eventData.Context);

        public override Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            capture.Committed(eventData.Context);
            return Task.CompletedTask;
        }

        public override void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => capture.Discard(eventData.Context, true);

        public override Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            capture.Discard(eventData.Context, true);
            return Task.CompletedTask;
        }

        public override void TransactionFailed(DbTransaction transaction, TransactionErrorEventData eventData) => capture.Discard(eventData.Context, true);

        public override Task TransactionFailedAsync(DbTransaction transaction, TransactionErrorEventData eventData, CancellationToken cancellationToken = default)
        {
            capture.Discard(eventData.Context, true);
            return Task.CompletedTask;
        }
    }
}
