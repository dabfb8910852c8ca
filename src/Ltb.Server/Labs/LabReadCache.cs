using Ltb.Server.Api;
using Ltb.Server.Caching;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Labs;

/// <summary>
/// What a lab's status read needs from the database besides the live status (<see cref="LabStatusCache"/>): the lab's
/// row, its owner's name, its last 200 events and the hosts, kept in memory per lab so that pollers of a lab cost no
/// database round trip. Read for everyone: the caller's access is checked on the cached row
/// (<see cref="Auth.LabAuthorizer.Sees"/>). Any saved change to the lab, its events or the hosts invalidates it at once,
/// here and on every replica (<see cref="ChangeSignals"/>).
/// </summary>
public sealed class LabReadCache
{
    public sealed record LabRead(Lab Lab, string Owner, IReadOnlyList<LabEventDto> Events, IReadOnlyDictionary<Guid, LabHost> Hosts);

    private readonly ReadCache<Guid, LabRead> _cache;
    private readonly ChangeSignals _signals;

    public LabReadCache(LtbServerOptions options, ChangeSignals signals, TimeProvider time)
    {
        _cache = new ReadCache<Guid, LabRead>(options.LabReadCacheLifetime, capacity: 10_000, time);
        _signals = signals;
        signals.Subscribe(Apply);
    }

    /// <summary>Off when the lifetime is zero (`LTB_READ_CACHE=off`) and while a replica's change feed is down.</summary>
    public bool Enabled => _cache.Lifetime > TimeSpan.Zero && _signals.Live;

    /// <summary>The lab with this id whoever owns it (null: none); the caller checks access.</summary>
    public async Task<LabRead?> GetAsync(LtbDbContext db, Guid id, CancellationToken ct)
    {
        if (Enabled && _cache.TryGet(id, out var cached))
        {
            return cached;
        }
        var generation = _cache.Generation;
        var lab = await db.Labs.AsNoTracking().FirstOrDefaultAsync(l => l.Id == id, ct);
        if (lab is null)
        {
            return null;
        }
        var owner = await db.Users.Where(u => u.Id == lab.OwnerId).Select(u => u.UserName).FirstOrDefaultAsync(ct) ?? "";
        var events = await db.LabEvents.AsNoTracking().Where(e => e.LabId == id).OrderByDescending(e => e.Id).Take(200).ToListAsync(ct);
        var read = new LabRead(lab, owner, events.OrderBy(e => e.Id).Select(LabViews.ToDto).ToList(), await LabViews.HostsAsync(db, ct));
        if (Enabled)
        {
            _cache.Set(id, read, generation);
        }
        return read;
    }

    private void Apply(Change change)
    {
        switch (change.Kind)
        {
            case ChangeKind.Lab:
                _cache.Remove(change.Id);
                break;
            case ChangeKind.Hosts or ChangeKind.All:
                _cache.Clear();
                break;
        }
    }
}
