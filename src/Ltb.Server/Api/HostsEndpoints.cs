using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Labs.Placement;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>/api/v1/hosts: the lab hosts with their capacity, labels and state. Access rules: <see cref="LabHostAuthorizer"/>.</summary>
public static class HostsEndpoints
{
    private const string What = "host";

    public static RouteGroupBuilder MapHostsEndpoints(this RouteGroupBuilder api)
    {
        var hosts = api.MapGroup("/hosts").WithTags("Hosts");
        hosts.MapGet("/", ListAsync).WithName("ListHosts").WithSummary("List lab hosts (filters: state, label = key=value)");
        hosts.MapPost("/", CreateAsync).WithName("CreateHost").WithSummary("Register a remote lab host (admin)");
        hosts.MapGet("/{id:guid}", GetAsync).WithName("GetHost").WithSummary("One lab host; the ETag is its version");
        hosts.MapPatch("/{id:guid}", UpdateAsync).WithName("UpdateHost").WithSummary("Change a host's address, capacity overrides, labels or state (admin; If-Match)");
        hosts.MapDelete("/{id:guid}", DeleteAsync).WithName("DeleteHost").WithSummary("Forget a remote lab host (admin)");
        hosts.MapHostAgentsEndpoints();
        return api;
    }

    /// <summary>The host as the caller may see it: its agent's address is infrastructure, shown to administrators only.</summary>
    private static HostDto ToDto(LabHost h, HostUsage usage, bool admin = true)
    {
        var capacity = HostOffer.EffectiveCapacity(h);
        var allocated = usage.Allocated.GetValueOrDefault(h.Id);
        return new(h.Id, h.Name, admin ? h.Address : null, h.IsLocal, h.Cpus, h.MemoryBytes, h.Labels,
            h.State.ToString().ToLowerInvariant(), h.CreatedAt, h.UpdatedAt, h.Version, h.DiskBytes, h.Kvm, h.Images, h.Kinds,
            h.LastSeenAt, h.AgentVersion, h.CpusOverride, h.MemoryBytesOverride,
            new HostResourcesDto(capacity.Cpus, capacity.MemoryBytes), new HostResourcesDto(Math.Round(allocated.Cpus, 3), allocated.MemoryBytes),
            usage.Labs.GetValueOrDefault(h.Id), h.CpuOvercommit ?? HostOffer.CpuOvercommit, h.MemoryOvercommit ?? HostOffer.MemoryOvercommit,
            new HostIsolationDto(h.EngineUserNamespaces, h.EngineSeccomp, h.EngineAppArmor,
                h.EngineUserNamespaces == false ? Ltb.Runtime.Docker.EngineIsolation.WithoutUserNamespaces($"host '{h.Name}'") : null));
    }

    /// <summary>What the labs on each host demand (as placement counts it) and how many labs each host owns.</summary>
    private sealed record HostUsage(Dictionary<Guid, CpuMemory> Allocated, Dictionary<Guid, int> Labs)
    {
        public static async Task<HostUsage> ReadAsync(LtbDbContext db, CancellationToken ct) => new(
            await HostInventory.AllocatedAsync(db, ct),
            await db.Labs.Where(l => l.State != LabLifecycle.Removed).GroupBy(l => l.HostId)
                .Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count, ct));
    }

    [Requires<LabHost>(Operation.Read)]
    private static async Task<Results<Ok<Paged<HostDto>>, ProblemHttpResult, ValidationProblem>> ListAsync(Caller caller,
        LtbDbContext db, IResourceAuthorizer<LabHost> authz, string? state, string? label, [AsParameters] PageQuery page,
        CancellationToken ct)
    {
        var paging = page.Request;
        var query = authz.Visible(db.LabHosts, caller);
        if (state is not null)
        {
            if (!Enum.TryParse<LabHostState>(state, ignoreCase: true, out var s))
            {
                return Problems.Invalid("state", $"'{state}' is not a host state ({StateNames})");
            }
            query = query.Where(h => h.State == s);
        }
        // Labels are JSON text; a host list is short, so the label filter runs on the page's rows after the state filter.
        var hosts = await query.OrderBy(h => h.Name).ToListAsync(ct);
        if (label is not null)
        {
            var (key, value) = label.Split('=', 2) is [var k, var val] ? (k, val) : (label, null);
            hosts = hosts.Where(h => h.Labels.TryGetValue(key, out var actual) && (value is null || actual == value)).ToList();
        }
        var usage = await HostUsage.ReadAsync(db, ct);
        var items = hosts.Skip((paging.Page - 1) * paging.PageSize).Take(paging.PageSize).Select(h => ToDto(h, usage, caller.IsAdmin)).ToList();
        return TypedResults.Ok(new Paged<HostDto>(items, paging.Page, paging.PageSize, hosts.Count));
    }

    private static string StateNames => string.Join(", ", Enum.GetNames<LabHostState>().Select(n => n.ToLowerInvariant()));

    [Requires<LabHost>(Operation.Create)]
    private static async Task<Results<Created<HostDto>, ProblemHttpResult, ValidationProblem>> CreateAsync(
        CreateHostRequest request, LtbDbContext db, AuditLog audit, HttpContext http, CancellationToken ct)
    {
        var v = new Validation().Require("name", request.Name, Validation.HostName(), Validation.HostNameRule);
        ValidateCapacity(v, request.Address, request.Cpus, request.MemoryBytes, request.Labels);
        if (string.IsNullOrWhiteSpace(request.Address))
        {
            v.Add("address", "is required");
        }
        if (!v.IsValid)
        {
            return Problems.Invalid(v.Errors);
        }
        if (await db.LabHosts.AnyAsync(h => h.Name == request.Name, ct))
        {
            return Problems.Conflict($"a host named '{request.Name}' exists already");
        }
        var now = DateTimeOffset.UtcNow;
        var host = new LabHost
        {
            Id = Guid.NewGuid(),
            Name = request.Name,
            Address = request.Address,
            Cpus = request.Cpus,
            MemoryBytes = request.MemoryBytes,
            Labels = request.Labels ?? [],
            // A remote host is unreachable until its agent answers (the agent connection comes with `ltb agent`).
            State = LabHostState.Unreachable,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.LabHosts.Add(host);
        audit.Record(AuditActions.Created, What, host.Id, host.Name);
        await db.SaveChangesAsync(ct);
        ETags.Set(http, host);
        return TypedResults.Created($"/api/v1/hosts/{host.Id}", ToDto(host, await HostUsage.ReadAsync(db, ct)));
    }

    private static async Task<Results<Ok<HostDto>, ProblemHttpResult>> GetAsync([For(Operation.Read)] Authorized<LabHost> host,
        Caller caller, LtbDbContext db, HttpContext http, CancellationToken ct)
    {
        ETags.Set(http, host.Value);
        return TypedResults.Ok(ToDto(host.Value, await HostUsage.ReadAsync(db, ct), caller.IsAdmin));
    }

    private static async Task<Results<Ok<HostDto>, ProblemHttpResult, ValidationProblem>> UpdateAsync(
        [For(Operation.Update)] Authorized<LabHost> authorized, UpdateHostRequest request, LtbDbContext db, AuditLog audit,
        HttpContext http, Reservations.ReservationBook reservations, CancellationToken ct)
    {
        var host = authorized.Value;
        var v = new Validation();
        ValidateCapacity(v, request.Address, request.Cpus, request.MemoryBytes, request.Labels);
        foreach (var (field, value) in new[] { ("cpuOvercommit", request.CpuOvercommit), ("memoryOvercommit", request.MemoryOvercommit) })
        {
            if (value is < 1 or > 1000 || (value is { } x && !double.IsFinite(x)))
            {
                v.Add(field, "must be between 1 and 1000 (how many times the reported figure placement counts node limits against)");
            }
        }
        LabHostState? state = null;
        if (request.State is not null)
        {
            // Unreachable is what the control plane observes, not something an admin sets.
            if (Enum.TryParse<LabHostState>(request.State, ignoreCase: true, out var s) && s != LabHostState.Unreachable)
            {
                state = s;
            }
            else
            {
                v.Add("state", "must be ready, draining or disabled");
            }
        }
        if (host.IsLocal && request.Address is not null)
        {
            v.Add("address", "the local host is reached in-process; its address cannot change");
        }
        if (!v.IsValid)
        {
            return Problems.Invalid(v.Errors);
        }
        if (!ETags.Check(http, db, host))
        {
            return Problems.PreconditionFailed();
        }
        host.Address = request.Address ?? host.Address;
        // The admin's figures are overrides beside the reported ones: the agent's heartbeats keep measuring the host
        // (and would otherwise overwrite them); placement uses the override where there is one.
        if (request.ResetCapacity == true)
        {
            host.CpusOverride = null;
            host.MemoryBytesOverride = null;
            host.CpuOvercommit = null;
            host.MemoryOvercommit = null;
        }
        host.CpuOvercommit = request.CpuOvercommit ?? host.CpuOvercommit;
        host.MemoryOvercommit = request.MemoryOvercommit ?? host.MemoryOvercommit;
        host.CpusOverride = request.Cpus ?? host.CpusOverride;
        host.MemoryBytesOverride = request.MemoryBytes ?? host.MemoryBytesOverride;
        host.Labels = request.Labels ?? host.Labels;
        var leaves = host.State == LabHostState.Ready && state is LabHostState.Draining or LabHostState.Disabled;
        host.State = state ?? host.State;
        host.UpdatedAt = DateTimeOffset.UtcNow;
        audit.Record(AuditActions.Updated, What, host.Id, host.Name);
        await db.SaveChangesAsync(ct);
        if (leaves)
        {
            await reservations.ReplanHostAsync(host.Id, host.Name, $"is {state.ToString()!.ToLowerInvariant()}", ct);
        }
        ETags.Set(http, host);
        return TypedResults.Ok(ToDto(host, await HostUsage.ReadAsync(db, ct)));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync([For(Operation.Delete)] Authorized<LabHost> host,
        LtbDbContext db, AuditLog audit, Reservations.ReservationBook reservations, CancellationToken ct)
    {
        if (host.Value.IsLocal)
        {
            return Problems.Conflict("the local host is part of this server and cannot be removed; set its state to disabled instead");
        }
        db.LabHosts.Remove(host.Value);
        audit.Record(AuditActions.Deleted, What, host.Value.Id, host.Value.Name);
        await db.SaveChangesAsync(ct);
        await reservations.ReplanHostAsync(host.Value.Id, host.Value.Name, "was removed", ct);
        return TypedResults.NoContent();
    }

    private static void ValidateCapacity(Validation v, string? address, int? cpus, long? memory, Dictionary<string, string>? labels)
    {
        v.MaxLength("address", address, 500).Range("cpus", cpus, 1, 4096).Range("memoryBytes", memory, 1, long.MaxValue);
        ValidateLabels(v, labels);
    }

    internal static void ValidateLabels(Validation v, Dictionary<string, string>? labels)
    {
        if (labels is { Count: > 50 })
        {
            v.Add("labels", "at most 50 labels");
        }
        foreach (var (k, value) in labels ?? [])
        {
            if (!Validation.Label().IsMatch(k) || value.Length > 200)
            {
                v.Add("labels", $"'{k}': keys are {Validation.LabelRule}; values at most 200 characters");
            }
        }
    }
}
