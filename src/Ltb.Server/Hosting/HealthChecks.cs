using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Ltb.Server.Hosting;

/// <summary>/readyz: the database answers.</summary>
internal sealed class DatabaseHealthCheck(LtbDbContext db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default) =>
        await db.Database.CanConnectAsync(ct)
            ? HealthCheckResult.Healthy("the database answers")
            : HealthCheckResult.Unhealthy("the database does not answer");
}

/// <summary>/readyz: every host in service (not disabled) has an agent that answers (which do not: admins only).</summary>
internal sealed class AgentsHealthCheck(LtbDbContext db, IAgentDirectory agents) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        var hosts = await db.LabHosts.AsNoTracking().Where(h => h.State != LabHostState.Disabled).ToListAsync(ct);
        var down = new List<string>();
        foreach (var host in hosts)
        {
            var health = agents.For(host) is { } agent ? await agent.CheckAsync(ct) : new AgentHealth(false, "no agent connected");
            if (!health.Reachable)
            {
                down.Add($"{host.Name}: {health.Message}");
            }
        }
        if (hosts.Count == 0)
        {
            // The API still works; labs cannot be deployed until an admin puts a host back in service.
            return HealthCheckResult.Degraded("no lab host in service");
        }
        // The description is for anyone (no host names, addresses or errors); the detail only for admins (HealthResponse).
        return down.Count == 0
            ? HealthCheckResult.Healthy($"{hosts.Count} host(s) reachable")
            : HealthCheckResult.Degraded($"{down.Count} of {hosts.Count} host(s) unreachable",
                data: new Dictionary<string, object> { [HealthResponse.AdminDetail] = $"unreachable: {string.Join("; ", down)}" });
    }
}
