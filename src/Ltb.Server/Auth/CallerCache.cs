using Ltb.Server.Caching;
using Ltb.Server.Hosting;

namespace Ltb.Server.Auth;

/// <summary>
/// What a token resolved to (its <see cref="Caller"/>: user, roles, groups), keyed by the token's hash, so that an
/// authenticated request costs no database round trip. Revoking a token, locking, unlocking, deleting or resetting a user,
/// and changing their roles or groups invalidate the entries at once, here and on every replica
/// (<see cref="ChangeSignals"/>); the lifetime only bounds changes made behind the server's back.
/// </summary>
public sealed class CallerCache
{
    public sealed record Resolved(Caller Caller, DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt);

    private readonly ReadCache<string, Resolved> _cache;
    private readonly ChangeSignals _signals;
    private readonly TimeProvider _time;

    public CallerCache(LtbServerOptions options, ChangeSignals signals, TimeProvider time)
    {
        _cache = new ReadCache<string, Resolved>(options.CallerCacheLifetime, capacity: 10_000, time);
        _signals = signals;
        _time = time;
        signals.Subscribe(Apply);
    }

    /// <summary>Off when the lifetime is zero (`LTB_READ_CACHE=off`) and while a replica's change feed is down.</summary>
    public bool Enabled => _cache.Lifetime > TimeSpan.Zero && _signals.Live;

    public long Generation => _cache.Generation;

    public int Count => _cache.Count;

    public bool TryGet(byte[] tokenHash, out Resolved resolved)
    {
        if (Enabled && _cache.TryGet(Convert.ToBase64String(tokenHash), out resolved!))
        {
            // An expiry is not a change anyone publishes: checked on every use.
            if (resolved.ExpiresAt is not { } expires || expires > _time.GetUtcNow())
            {
                return true;
            }
            _cache.Remove(Convert.ToBase64String(tokenHash));
        }
        resolved = null!;
        return false;
    }

    public void Set(byte[] tokenHash, Resolved resolved, long generationBefore)
    {
        if (Enabled)
        {
            _cache.Set(Convert.ToBase64String(tokenHash), resolved, generationBefore);
        }
    }

    private void Apply(Change change)
    {
        switch (change.Kind)
        {
            case ChangeKind.User:
                _cache.RemoveWhere(r => r.Caller.UserId == change.Id);
                break;
            case ChangeKind.Token:
                _cache.RemoveWhere(r => r.Caller.TokenId == change.Id);
                break;
            case ChangeKind.All:
                _cache.Clear();
                break;
        }
    }
}
