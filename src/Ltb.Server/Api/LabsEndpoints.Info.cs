using Ltb.Runtime.Status;
using Ltb.Server.Auth;
using Ltb.Server.Catalog;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>Device information: what a node is (type, version, image, interfaces, configurations), docs/api.md "Device information".</summary>
public static partial class LabsEndpoints
{
    private static void MapInfoEndpoints(RouteGroupBuilder labs)
    {
        labs.MapGet("/{lab}/nodes/{node}/info", InfoAsync).WithName("GetNodeInfo")
            .WithSummary("A node's device information: type, vendor, OS and the version the device reports, image and digests, groups, labels, uptime, interfaces (addresses, state, counters, peers), startup configuration; the running configuration with config=true");
    }

    private static async Task<Results<Ok<NodeInfoDto>, ProblemHttpResult>> InfoAsync(string lab, string node, bool? config, Caller caller,
        LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents, NodeTypeStore nodeTypes, Policy.PolicyStore policies,
        TimeProvider time, CancellationToken ct)
    {
        // Reading the lab is enough: the device is asked only the catalog's own commands, never anything the caller wrote.
        var (l, agent, problem) = await NodeAccessAsync(lab, node, Operation.Read, caller, db, authz, agents, ct);
        if (problem is not null)
        {
            return problem;
        }
        var hostId = LabLayout.Parse(l!.LayoutJson) is { } layout && layout.NodeHosts.TryGetValue(node, out var at) ? at : l.HostId;
        var host = await db.LabHosts.AsNoTracking().Where(h => h.Id == hostId).Select(h => h.Name).FirstOrDefaultAsync(ct);
        try
        {
            return TypedResults.Ok(await NodeInfo.BuildAsync(l, node, agent!, await nodeTypes.CatalogAsync(ct), host, config == true,
                OutputLimit(await policies.CurrentAsync(ct)), time.GetUtcNow(), ct));
        }
        catch (LabRuntimeException e)
        {
            return Problems.Conflict(UserMessage(e, l));
        }
    }
}
