using Ltb.Server.Api;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Labs;

/// <summary>
/// Which host a new lab runs on: the one the user names (the `host` form field), else the local host. A lab stays on its
/// host for its life (reconfigure and redeploy keep it). Placement by capacity, kinds and images comes later, here.
/// </summary>
public static class LabPlacement
{
    public static async Task<(LabHost? Host, ProblemHttpResult? Refused, ValidationProblem? Invalid)> ChooseAsync(LtbDbContext db, IResourceAuthorizer<LabHost> authz,
        Caller caller, string? requested, Lab? existing, CancellationToken ct)
    {
        if (existing is not null && existing.State != LabLifecycle.Removed)
        {
            var current = await db.LabHosts.FirstAsync(h => h.Id == existing.HostId, ct);
            if (!string.IsNullOrEmpty(requested) && requested != current.Name)
            {
                return (null, Problems.Conflict($"lab '{existing.Name}' runs on host '{current.Name}'; destroy it to deploy it on '{requested}'"), null);
            }
            return (current, null, null);
        }
        if (string.IsNullOrEmpty(requested))
        {
            return (await db.LabHosts.FirstAsync(h => h.IsLocal, ct), null, null);
        }
        var host = await authz.Visible(db.LabHosts, caller).FirstOrDefaultAsync(h => h.Name == requested, ct);
        if (host is null)
        {
            return (null, null, Problems.Invalid("host", $"there is no host '{requested}' (GET /api/v1/hosts lists them)"));
        }
        if (!authz.Allows(caller, Operation.PlaceLabs, host))
        {
            return (null, Problems.Forbidden($"you may not deploy labs on host '{requested}'"), null);
        }
        if (host.State != LabHostState.Ready)
        {
            return (null, null, Problems.Invalid("host", $"host '{requested}' is {host.State.ToString().ToLowerInvariant()}, not ready for new labs; choose another host"));
        }
        return (host, null, null);
    }
}
