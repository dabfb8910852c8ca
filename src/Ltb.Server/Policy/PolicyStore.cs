using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Topology;
using Ltb.Topology.Catalog;
using Ltb.Topology.Policy;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Policy;

/// <summary>
/// The tenant policy of this installation (what non-admins' topologies may ask of the lab hosts, node limits, quotas):
/// one settings row holding the policy as JSON, the defaults while there is none. Changed by admins through
/// PUT /api/v1/policy and by `ltb serve --policy FILE` at start (docs/security.md, "The policy and its defaults").
/// Read on every topology load and deployment, so it is cached for a few seconds; a change through this replica is
/// seen at once, through another replica within <see cref="PolicyCache.Lifetime"/>.
/// </summary>
public sealed class PolicyStore(LtbDbContext db, PolicyCache cache, LocalHostImages localImages)
{
    public const string Key = "tenant-policy";

    public async Task<TenantPolicy> CurrentAsync(CancellationToken ct)
    {
        if (cache.Get() is { } cached)
        {
            return cached;
        }
        var (policy, _) = await ReadAsync(ct);
        return policy;
    }

    /// <summary>The stored policy and its version (0: never stored, the defaults), read fresh.</summary>
    public async Task<(TenantPolicy Policy, ServerSetting? Row)> ReadAsync(CancellationToken ct)
    {
        var row = await db.Settings.AsNoTracking().FirstOrDefaultAsync(s => s.Key == Key, ct);
        var policy = row is null ? TenantPolicy.Default : Parse(row.Value);
        cache.Set(policy);
        return (policy, row);
    }

    /// <summary>Stores a checked policy (<see cref="TenantPolicyFile.Check"/>); the caller audits. Null when <paramref name="expectedVersion"/> is stale.</summary>
    public async Task<ServerSetting?> SaveAsync(TenantPolicy policy, string by, long? expectedVersion, CancellationToken ct)
    {
        var row = await db.Settings.FirstOrDefaultAsync(s => s.Key == Key, ct);
        if (expectedVersion is { } expected && (row?.Version ?? 0) != expected)
        {
            return null;
        }
        if (row is null)
        {
            row = new ServerSetting { Key = Key };
            db.Settings.Add(row);
        }
        row.Value = TenantPolicyFile.ToJson(policy);
        row.UpdatedAt = DateTimeOffset.UtcNow;
        row.UpdatedBy = by;
        await db.SaveChangesAsync(ct);
        cache.Set(policy);
        return row;
    }

    /// <summary>
    /// How a topology of <paramref name="caller"/> is loaded: trusted for admins; for everyone else the policy and the
    /// images already on the lab hosts they may place labs on.
    /// </summary>
    public async Task<LoadOptions> LoadOptionsAsync(Caller caller, NodeTypeCatalog catalog, IResourceAuthorizer<LabHost> hosts, CancellationToken ct)
    {
        var policy = await CurrentAsync(ct);
        var options = new LoadOptions { Trusted = caller.IsAdmin, Policy = policy, Catalog = catalog, Environment = new Dictionary<string, string>() };
        if (caller.IsAdmin)
        {
            return options;
        }
        // The controller's VM image library: an admin put each image there for labs to boot.
        var images = (await db.VmImages.AsNoTracking().Select(i => i.Name + ":" + i.Tag).ToListAsync(ct)).ToHashSet(StringComparer.Ordinal);
        foreach (var host in await hosts.Visible(db.LabHosts.AsNoTracking(), caller).ToListAsync(ct))
        {
            if (!hosts.Allows(caller, Operation.PlaceLabs, host))
            {
                continue;
            }
            // The in-process host reports nothing to the database: its engine is asked (cached).
            images.UnionWith(host.IsLocal ? await localImages.ListAsync(ct) : host.Images);
        }
        return options with { LocalImages = images };
    }

    /// <summary>The defaults for an unreadable row (never written by this code; a hand-edited database): safe, not a crash.</summary>
    private static TenantPolicy Parse(string json) => TenantPolicyFile.Parse(json, Key).Policy ?? TenantPolicy.Default;
}

/// <summary>The policy as last read or written by this replica, for a few seconds.</summary>
public sealed class PolicyCache(TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(5);

    private (TenantPolicy Policy, DateTimeOffset At)? _entry;

    public TenantPolicy? Get() => _entry is { } e && time.GetUtcNow() - e.At < Lifetime ? e.Policy : null;

    public void Set(TenantPolicy policy) => _entry = (policy, time.GetUtcNow());
}

/// <summary>The image tags of the local host's engine (the in-process agent's) and the references of its VM image library, listed at most every 30 seconds.</summary>
public sealed class LocalHostImages(TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (IReadOnlySet<string> Images, DateTimeOffset At)? _entry;

    public async Task<IReadOnlySet<string>> ListAsync(CancellationToken ct)
    {
        if (_entry is { } e && time.GetUtcNow() - e.At < TimeSpan.FromSeconds(30))
        {
            return e.Images;
        }
        await _gate.WaitAsync(ct);
        try
        {
            IReadOnlySet<string> images;
            try
            {
                using var engine = Ltb.Runtime.Docker.DockerEngine.Connect();
                var list = await engine.Client.Images.ListImagesAsync(new Docker.DotNet.Models.ImagesListParameters(), ct);
                // With the host's VM image library (the local runtime's, as it boots from): an admin put each image there.
                images = list.SelectMany(i => i.RepoTags ?? []).Where(t => t != "<none>:<none>")
                    .Concat(Ltb.Runtime.Nodes.Vm.VmImages.ListHostLibrary()).ToHashSet(StringComparer.Ordinal);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or System.Net.Sockets.SocketException or TimeoutException
                or Docker.DotNet.DockerApiException)
            {
                // No engine: no local images to allow (catalog and policy images still are); asked again next time.
                return new HashSet<string>();
            }
            _entry = (images, time.GetUtcNow());
            return images;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();
}
