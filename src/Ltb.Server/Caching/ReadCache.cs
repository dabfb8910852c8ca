using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Ltb.Server.Caching;

/// <summary>
/// A bounded in-memory cache of what a database read resolved to, for reads on every request (a token's caller, a lab).
/// Correctness comes from invalidation (<see cref="ChangeSignals"/>), not from the lifetime: the lifetime only bounds
/// what a change behind LTB's back (another process on SQLite) leaves stale. A read that started before an invalidation
/// must not store what it read: callers take <see cref="Generation"/> before reading the database and hand it to
/// <see cref="Set"/>, which drops the value when any invalidation happened meanwhile.
/// </summary>
public sealed class ReadCache<TKey, TValue>(TimeSpan lifetime, int capacity, TimeProvider time)
    where TKey : notnull
{
    private sealed record Entry(TValue Value, DateTimeOffset Until);

    private readonly ConcurrentDictionary<TKey, Entry> _entries = new();
    private long _generation;

    public TimeSpan Lifetime => lifetime;

    public long Generation => Interlocked.Read(ref _generation);

    public int Count => _entries.Count;

    public bool TryGet(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        if (_entries.TryGetValue(key, out var entry) && entry.Until > time.GetUtcNow())
        {
            value = entry.Value;
            return true;
        }
        value = default;
        return false;
    }

    /// <summary>Stores <paramref name="value"/> unless an invalidation came after <paramref name="generationBefore"/>.</summary>
    public void Set(TKey key, TValue value, long generationBefore)
    {
        if (lifetime <= TimeSpan.Zero || Generation != generationBefore)
        {
            return;
        }
        if (_entries.Count >= capacity)
        {
            // Many distinct keys within one lifetime (a burst of sign-ins): start over rather than track use.
            _entries.Clear();
        }
        _entries[key] = new Entry(value, time.GetUtcNow() + lifetime);
        // An invalidation between the check above and the store: the stored value may predate it.
        if (Generation != generationBefore)
        {
            _entries.TryRemove(key, out _);
        }
    }

    public void Remove(TKey key)
    {
        Interlocked.Increment(ref _generation);
        _entries.TryRemove(key, out _);
    }

    public void RemoveWhere(Func<TValue, bool> match)
    {
        Interlocked.Increment(ref _generation);
        foreach (var (key, entry) in _entries)
        {
            if (match(entry.Value))
            {
                _entries.TryRemove(key, out _);
            }
        }
    }

    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        _entries.Clear();
    }
}
