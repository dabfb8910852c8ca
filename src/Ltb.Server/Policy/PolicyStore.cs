using Ltb.Topology.Policy;

namespace Ltb.Server.Policy;

/// <summary>
/// The installation's tenant policy (what non-admins may ask of a host, node limits, quotas). This is the minimal form
/// the quotas need: one in-memory policy, the defaults until someone sets another (tests do). The stored one (database,
/// API, config file) replaces this class with the same name and <see cref="CurrentAsync"/>.
/// </summary>
public sealed class PolicyStore
{
    private volatile TenantPolicy _current = TenantPolicy.Default;

    public Task<TenantPolicy> CurrentAsync(CancellationToken ct) => Task.FromResult(_current);

    /// <summary>Replaces the policy for the requests that follow.</summary>
    public void Set(TenantPolicy policy) => _current = policy;
}
