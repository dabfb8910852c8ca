using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ltb.Server.Api;

/// <summary>
/// /api/v1/hosts/tokens (admins create and revoke the tokens `ltb agent` registers with; <see cref="HostTokenAuthorizer"/>)
/// and the two calls of the agents themselves: register and heartbeat, authenticated by a host token
/// (<see cref="HostTokens"/>), never by a user.
/// </summary>
public static class HostAgentsEndpoints
{
    private const string What = "host token";

    public static RouteGroupBuilder MapHostAgentsEndpoints(this RouteGroupBuilder hosts)
    {
        hosts.MapGet("/tokens", ListTokensAsync).WithName("ListHostTokens").WithSummary("List host tokens (admin)");
        hosts.MapPost("/tokens", CreateTokenAsync).WithName("CreateHostToken").WithSummary("Create a host token for `ltb agent --token` (admin); the secret is shown once");
        hosts.MapDelete("/tokens/{id:guid}", RevokeTokenAsync).WithName("RevokeHostToken").WithSummary("Revoke a host token; its host stops being used at once (admin)");
        hosts.MapPost("/register", RegisterAsync).WithName("RegisterHost").AllowAnonymous()
            .WithSummary("Called by `ltb agent` with 'Authorization: Bearer HOST-TOKEN': registers the host, answers the per-agent secret");
        hosts.MapPost("/{id:guid}/heartbeat", HeartbeatAsync).WithName("SendHostHeartbeat").AllowAnonymous()
            .WithSummary("Called by `ltb agent` with its host token: the host is alive; its capacity and labs now");
        return hosts;
    }

    private static HostTokenDto ToDto(HostToken t) => new(t.Id, t.Name, t.Prefix, t.HostId, t.CreatedAt, t.LastUsedAt, t.RevokedAt);

    [Requires<HostToken>(Operation.Read)]
    private static async Task<Results<Ok<IReadOnlyList<HostTokenDto>>, ProblemHttpResult>> ListTokensAsync(Caller caller, LtbDbContext db,
        IResourceAuthorizer<HostToken> authz, CancellationToken ct)
    {
        var tokens = await authz.Visible(db.HostTokens, caller).OrderBy(t => t.CreatedAt).ToListAsync(ct);
        return TypedResults.Ok<IReadOnlyList<HostTokenDto>>(tokens.Select(ToDto).ToList());
    }

    [Requires<HostToken>(Operation.Create)]
    private static async Task<Results<Created<CreatedHostTokenDto>, ProblemHttpResult, ValidationProblem>> CreateTokenAsync(
        CreateHostTokenRequest request, Caller caller, LtbDbContext db, AuditLog audit, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 100)
        {
            return Problems.Invalid("name", "a name of 1 to 100 characters (which host or rack the token is for)");
        }
        var issued = HostTokens.Issue(db, caller.UserId, request.Name);
        audit.Record(AuditActions.Created, What, issued.Token.Id, issued.Token.Name);
        await db.SaveChangesAsync(ct);
        return TypedResults.Created($"/api/v1/hosts/tokens/{issued.Token.Id}", new CreatedHostTokenDto(ToDto(issued.Token), issued.Secret));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeTokenAsync(
        [For(Operation.Delete)] Authorized<HostToken> authorized, LtbDbContext db, AuditLog audit, CancellationToken ct)
    {
        var token = authorized.Value;
        token.RevokedAt ??= DateTimeOffset.UtcNow;
        // The host's agent is no longer trusted: the controller stops calling it until it registers with a new token.
        if (token.HostId is { } hostId && await db.LabHosts.FirstOrDefaultAsync(h => h.Id == hostId, ct) is { } host)
        {
            host.AgentSecret = null;
            host.State = host.State == LabHostState.Ready ? LabHostState.Unreachable : host.State;
            host.UpdatedAt = DateTimeOffset.UtcNow;
        }
        audit.Record(AuditActions.Deleted, What, token.Id, token.Name);
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<AgentRegistered>, ProblemHttpResult, ValidationProblem>> RegisterAsync(AgentRegistration request,
        LtbDbContext db, HttpContext http, LtbServerOptions options, AuditLog audit, IServiceScopeFactory scopes,
        IHostApplicationLifetime lifetime, CancellationToken ct)
    {
        if (await HostTokens.FromRequestAsync(db, http, ct) is not { } token)
        {
            return Problems.Unauthorized("send a live host token as 'Authorization: Bearer ltbh_...' (an admin creates one: POST /api/v1/hosts/tokens)");
        }
        var v = new Validation().Require("name", request.Name, Validation.HostName(), Validation.HostNameRule);
        if (!Uri.TryCreate(request.Address, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https")
            || request.Address.Length > 500)
        {
            v.Add("address", "the agent's gRPC URL, http(s)://HOST:PORT");
        }
        HostsEndpoints.ValidateLabels(v, request.Labels);
        if (!v.IsValid)
        {
            return Problems.Invalid(v.Errors);
        }
        if (AgentVersions.Refusal(request.Version, AgentVersions.Controller) is { } skew)
        {
            return Problems.Conflict(skew);
        }
        LabHost? host;
        if (token.HostId is { } bound)
        {
            host = await db.LabHosts.FirstOrDefaultAsync(h => h.Id == bound, ct);
            if (host is not null && host.Name != request.Name)
            {
                return Problems.Conflict($"this host token belongs to host '{host.Name}'; ask an admin for a token for '{request.Name}'");
            }
        }
        else
        {
            host = await db.LabHosts.FirstOrDefaultAsync(h => h.Name == request.Name, ct);
            if (host is { IsLocal: true })
            {
                return Problems.Conflict($"'{request.Name}' is the controller's own host; give the agent another --name");
            }
            if (host is not null && await db.HostTokens.AnyAsync(t => t.HostId == host.Id && t.RevokedAt == null && t.Id != token.Id, ct))
            {
                return Problems.Conflict($"host '{request.Name}' is registered with another host token; use that one or choose another --name");
            }
        }
        var now = DateTimeOffset.UtcNow;
        var created = host is null;
        host ??= new LabHost { Id = Guid.NewGuid(), Name = request.Name, CreatedAt = now, State = LabHostState.Ready };
        if (created)
        {
            db.LabHosts.Add(host);
        }
        host.Address = request.Address;
        host.AgentSecret = HostTokens.NewAgentSecret();
        host.AgentVersion = request.Version.Length > 50 ? request.Version[..50] : request.Version;
        host.Labels = request.Labels ?? host.Labels;
        Apply(host, request.Facts, now);
        // An admin's draining or disabling outlives the agent's restarts.
        host.State = host.State is LabHostState.Unreachable ? LabHostState.Ready : host.State;
        host.UpdatedAt = now;
        token.HostId = host.Id;
        token.LastUsedAt = now;
        audit.RecordAs(null, $"host token '{token.Name}'", created ? "host.registered" : "host.re-registered", "host", host.Id,
            $"{host.Name} at {host.Address}");
        await db.SaveChangesAsync(ct);

        // The agent's view of its labs (rebuilt from its engine after a restart) against the store, once it has the secret.
        var hostId = host.Id;
        var labs = request.Labs.ToList();
        _ = Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(1), lifetime.ApplicationStopping);
            await using var scope = scopes.CreateAsyncScope();
            var reconciler = scope.ServiceProvider.GetRequiredService<LabReconciler>();
            try
            {
                // The agent's list is as old as this registration: labs deployed since are not judged by it.
                await reconciler.ReconcileHostAsync(hostId, labs, now, lifetime.ApplicationStopping);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                scope.ServiceProvider.GetRequiredService<ILogger<LabReconciler>>()
                    .LogError("reconciling host {Host} after its registration failed: {Error}", hostId, e.Message);
            }
        }, CancellationToken.None);
        return TypedResults.Ok(new AgentRegistered(host.Id, host.AgentSecret, (int)Math.Ceiling(options.HeartbeatInterval.TotalSeconds)));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> HeartbeatAsync(Guid id, AgentHeartbeat request, LtbDbContext db,
        HttpContext http, CancellationToken ct)
    {
        if (await HostTokens.FromRequestAsync(db, http, ct) is not { } token)
        {
            return Problems.Unauthorized("send the live host token the agent registered with");
        }
        if (token.HostId != id || await db.LabHosts.FirstOrDefaultAsync(h => h.Id == id, ct) is not { } host)
        {
            // The agent registers again when it hears this (the host was deleted or the token moved).
            return Problems.NotFound("host");
        }
        if (host.AgentSecret is null)
        {
            return Problems.Conflict($"host '{host.Name}' must register again");
        }
        var now = DateTimeOffset.UtcNow;
        token.LastUsedAt = now;
        if (host.State == LabHostState.Unreachable)
        {
            Apply(host, request.Facts, now);
            host.State = LabHostState.Ready;
            host.UpdatedAt = now;
            await HostMonitor.TellLabsAsync(db, host, $"host '{host.Name}' answers again", LabEventLevel.Info, ct);
            await db.SaveChangesAsync(ct);
            return TypedResults.NoContent();
        }
        // The reported facts are not the admin's settings: they change without a new version (ETag), so that an admin's
        // If-Match is not outrun by heartbeats every few seconds.
        var facts = new LabHost();
        Apply(facts, request.Facts, now);
        await db.LabHosts.Where(h => h.Id == id).ExecuteUpdateAsync(u => u
            .SetProperty(h => h.Cpus, facts.Cpus).SetProperty(h => h.MemoryBytes, facts.MemoryBytes)
            .SetProperty(h => h.DiskBytes, facts.DiskBytes).SetProperty(h => h.Kvm, facts.Kvm)
            .SetProperty(h => h.Images, facts.Images).SetProperty(h => h.Kinds, facts.Kinds)
            .SetProperty(h => h.LastSeenAt, now).SetProperty(h => h.TunnelAddress, facts.TunnelAddress)
            .SetProperty(h => h.EngineUserNamespaces, facts.EngineUserNamespaces).SetProperty(h => h.EngineSeccomp, facts.EngineSeccomp)
            .SetProperty(h => h.EngineAppArmor, facts.EngineAppArmor), ct);
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    private static void Apply(LabHost host, AgentFacts facts, DateTimeOffset now)
    {
        host.Cpus = Math.Clamp(facts.Cpus, 1, 4096);
        host.MemoryBytes = Math.Max(1, facts.MemoryBytes);
        host.DiskBytes = Math.Max(0, facts.DiskBytes);
        host.Kvm = facts.Kvm;
        host.Images = facts.Images.Take(2000).Select(i => i.Length > 300 ? i[..300] : i).ToList();
        host.Kinds = facts.Kinds.Take(500).ToList();
        host.LastSeenAt = now;
        host.TunnelAddress = facts.TunnelAddress is { Length: <= 100 } t && System.Net.IPAddress.TryParse(t, out _) ? t : null;
        host.EngineUserNamespaces = facts.Isolation?.UserNamespaces;
        host.EngineSeccomp = facts.Isolation?.Seccomp;
        host.EngineAppArmor = facts.Isolation?.AppArmor;
    }
}
