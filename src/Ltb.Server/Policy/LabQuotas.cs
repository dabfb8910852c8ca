using System.Text.Json;
using Ltb.Server.Api;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Labs.Placement;
using Ltb.Topology.Policy;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Policy;

/// <summary>What a deployment request asks: the nodes of the topology and what placement counts for them.</summary>
/// <param name="Existing">The lab it replaces (a reconfigure or a redeploy of a lab that is not removed): it already counts.</param>
public sealed record QuotaRequest(Lab? Existing, int Nodes, CpuMemory Demand);

/// <summary>
/// Quotas (<see cref="TenantPolicy.RoleQuotas"/>, <see cref="TenantPolicy.GroupQuotas"/>) checked when a non-admin
/// deploys or reconfigures a lab. A role quota bounds what one user holding the role runs; a group quota bounds what all
/// members of the group run together (every lab they own, shared with the group or not, so that not sharing does not
/// escape it). Every quota that applies to the caller is checked, so the tightest decides. A lab counts from its
/// deployment request until it is destroyed (pending, deploying, running, failed: a failed lab may hold containers,
/// destroying), with the CPUs and memory placement counts for it (its <see cref="LabHostShare"/> rows) and the nodes
/// of its topology. Callers hold the <see cref="PlacementLock"/>, so that two deployments at once see each other.
/// </summary>
public static class LabQuotas
{
    /// <summary>How many lab names a refusal lists before "and N more".</summary>
    private const int NamesShown = 10;

    /// <summary>Null when the request stays within every quota of the caller (or the caller is an admin); else a 409.</summary>
    public static async Task<ProblemHttpResult?> RefuseAsync(LtbDbContext db, TenantPolicy policy, Caller caller, QuotaRequest request,
        CancellationToken ct)
    {
        if (caller.IsAdmin)
        {
            return null;
        }
        var except = request.Existing is { State: not LabLifecycle.Removed } e ? e.Id : (Guid?)null;
        var before = except is { } id ? await CountedAsync(db, db.Labs.Where(l => l.Id == id), null, ct) : null;
        var roleQuotas = caller.Roles.Order(StringComparer.Ordinal)
            .Where(policy.RoleQuotas.ContainsKey).Select(r => (Scope: $"role '{r}'", Quota: policy.RoleQuotas[r])).ToList();
        if (roleQuotas.Count > 0)
        {
            var mine = await CountedAsync(db, db.Labs.Where(l => l.OwnerId == caller.UserId), except, ct);
            foreach (var (scope, quota) in roleQuotas)
            {
                if (Exceeded(quota, mine, null, request, before) is { } refusal)
                {
                    return Refused(scope, refusal);
                }
            }
        }
        if (policy.GroupQuotas.Count == 0 || caller.GroupIds.Count == 0)
        {
            return null;
        }
        var ids = caller.GroupIds.ToList();
        var groups = await db.Groups.AsNoTracking().Where(g => ids.Contains(g.Id)).Select(g => new { g.Id, g.Name }).ToListAsync(ct);
        foreach (var group in groups.Where(g => policy.GroupQuotas.ContainsKey(g.Name)).OrderBy(g => g.Name, StringComparer.Ordinal))
        {
            var members = db.GroupMembers.Where(m => m.GroupId == group.Id).Select(m => m.UserId);
            var theirs = await CountedAsync(db, db.Labs.Where(l => members.Contains(l.OwnerId)), except, ct);
            if (Exceeded(policy.GroupQuotas[group.Name], theirs, caller.UserId, request, before) is { } refusal)
            {
                return Refused($"group '{group.Name}'", refusal);
            }
        }
        return null;
    }

    /// <summary>One lab as a quota counts it.</summary>
    private sealed record Counted(string Name, Guid OwnerId, int Nodes, CpuMemory Demand);

    private static async Task<List<Counted>> CountedAsync(LtbDbContext db, IQueryable<Lab> labs, Guid? except, CancellationToken ct)
    {
        var rows = await labs.AsNoTracking().Where(l => l.State != LabLifecycle.Removed && l.Id != except)
            .Select(l => new { l.Id, l.Name, l.OwnerId, l.NodeKindsJson }).ToListAsync(ct);
        var ids = rows.Select(r => r.Id).ToList();
        var shares = (await db.LabHostShares.AsNoTracking().Where(s => ids.Contains(s.LabId))
                .Select(s => new { s.LabId, s.Cpus, s.MemoryBytes }).ToListAsync(ct))
            .GroupBy(s => s.LabId)
            .ToDictionary(g => g.Key, g => new CpuMemory(g.Sum(s => s.Cpus), g.Sum(s => s.MemoryBytes)));
        return [.. rows.OrderBy(r => r.Name, StringComparer.Ordinal)
            .Select(r => new Counted(r.Name, r.OwnerId, NodeCount(r.NodeKindsJson), shares.GetValueOrDefault(r.Id)))];
    }

    /// <summary>The nodes of a stored lab: its node -> kind map has one entry per node of its topology.</summary>
    private static int NodeCount(string kindsJson)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(kindsJson)?.Count ?? 0;
        }
        catch (JsonException)
        {
            return 0;
        }
    }

    /// <summary>A quota exceeded: which, the limit, what is used, the caller's part of it (for a group), what is asked.</summary>
    private sealed record Refusal(string Resource, string Detail, double Limit, double Used, double Requested);

    /// <param name="viewer">For a group: the caller, whose own labs are named (other members' labs are not theirs to see).</param>
    private static Refusal? Exceeded(Quota quota, List<Counted> labs, Guid? viewer, QuotaRequest request, List<Counted>? before)
    {
        var used = labs.Aggregate(CpuMemory.Zero, (sum, l) => sum + l.Demand);
        var usedNodes = labs.Sum(l => l.Nodes);
        var had = before?.SingleOrDefault();
        var other = had is null ? "" : "other ";
        var (run, use) = viewer is null ? ($"you run", $"your {other}labs use") : ("its members run", $"its members' {other}labs use");
        var named = Names(viewer is null ? labs : labs.Where(l => l.OwnerId == viewer).ToList(), viewer is null ? "" : "yours: ");
        var grows = had is null ? "this lab needs" : "this lab would need";
        var now = had is null ? "" : " after the change";

        if (had is null && quota.RunningLabs is { } maxLabs && labs.Count + 1 > maxLabs)
        {
            return new Refusal("runningLabs", $"may run at most {maxLabs} lab{S(maxLabs)} at once; {run} {labs.Count}{named}: destroy one first",
                maxLabs, labs.Count, 1);
        }
        if (quota.Nodes is { } maxNodes && usedNodes + request.Nodes > maxNodes && request.Nodes > (had?.Nodes ?? 0))
        {
            return new Refusal("nodes", $"may run at most {maxNodes} nodes at once; {run} {usedNodes} in {labs.Count} {other}lab{S(labs.Count)}{named} " +
                $"and {grows} {request.Nodes}{now}: use fewer nodes or destroy a lab first", maxNodes, usedNodes, request.Nodes);
        }
        if (quota.Cpus is { } maxCpus && used.Cpus + request.Demand.Cpus > maxCpus + 1e-9 && request.Demand.Cpus > (had?.Demand.Cpus ?? 0) + 1e-9)
        {
            return new Refusal("cpus", $"may use at most {CpuMemory.FormatCpus(maxCpus)} CPUs at once; {use} {CpuMemory.FormatCpus(used.Cpus)}{named} " +
                $"and {grows} {CpuMemory.FormatCpus(request.Demand.Cpus)}{now}: lower the nodes' cpu or destroy a lab first",
                maxCpus, used.Cpus, request.Demand.Cpus);
        }
        if (quota.MemoryBytes is { } maxMemory && used.MemoryBytes + request.Demand.MemoryBytes > maxMemory
            && request.Demand.MemoryBytes > (had?.Demand.MemoryBytes ?? 0))
        {
            return new Refusal("memory", $"may use at most {CpuMemory.FormatMemory(maxMemory)} of memory at once; {use} " +
                $"{CpuMemory.FormatMemory(used.MemoryBytes)}{named} and {grows} {CpuMemory.FormatMemory(request.Demand.MemoryBytes)}{now}: " +
                "lower the nodes' memory or destroy a lab first", maxMemory, used.MemoryBytes, request.Demand.MemoryBytes);
        }
        return null;
    }

    private static string S(double n) => n == 1 ? "" : "s";

    private static string Names(List<Counted> labs, string prefix)
    {
        if (labs.Count == 0)
        {
            return prefix.Length == 0 ? "" : " (none of them yours)";
        }
        var shown = string.Join(", ", labs.Take(NamesShown).Select(l => l.Name));
        var more = labs.Count > NamesShown ? $" and {labs.Count - NamesShown} more" : "";
        return $" ({prefix}{shown}{more})";
    }

    /// <summary>409 naming the quota and the figures; the same as the "quota" extension, for programs.</summary>
    private static ProblemHttpResult Refused(string scope, Refusal r) => TypedResults.Problem(
        statusCode: StatusCodes.Status409Conflict, title: "Quota exceeded", detail: $"{scope} {r.Detail}",
        extensions: new Dictionary<string, object?>
        {
            ["quota"] = new Dictionary<string, object?>
            {
                ["scope"] = scope, ["resource"] = r.Resource, ["limit"] = r.Limit, ["used"] = r.Used, ["requested"] = r.Requested,
            },
        });
}
