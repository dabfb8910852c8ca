using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>/api/v1/ssh-keys: users' SSH public keys for the SSH gateway. Access rules: <see cref="SshKeyAuthorizer"/>.</summary>
public static class SshKeysEndpoints
{
    private const string What = "SSH key";

    public static RouteGroupBuilder MapSshKeysEndpoints(this RouteGroupBuilder api)
    {
        var keys = api.MapGroup("/ssh-keys").WithTags("SSH keys");
        keys.MapGet("/", ListAsync).WithName("ListSshKeys").WithSummary("One's SSH public keys (admins: userId= for another user's)");
        keys.MapPost("/", AddAsync).WithName("AddSshKey").WithSummary("Add an SSH public key (one line of an OpenSSH .pub file)");
        keys.MapDelete("/{id:guid}", RemoveAsync).WithName("RemoveSshKey").WithSummary("Remove an SSH public key");
        return api;
    }

    private static SshKeyDto ToDto(SshKey k) => new(k.Id, k.UserId, k.Name, k.Algorithm, k.Fingerprint, k.PublicKey, k.CreatedAt);

    [Requires<SshKey>(Operation.Read)]
    private static async Task<Results<Ok<Paged<SshKeyDto>>, ProblemHttpResult, ValidationProblem>> ListAsync(Caller caller,
        LtbDbContext db, IResourceAuthorizer<SshKey> authz, Guid? userId, [AsParameters] PageQuery paging, CancellationToken ct)
    {
        var owner = userId ?? caller.UserId;
        var query = authz.Visible(db.SshKeys, caller).Where(k => k.UserId == owner);
        return TypedResults.Ok(await query.OrderBy(k => k.CreatedAt).ThenBy(k => k.Id).ToPageAsync(paging.Request, ToDto, ct));
    }

    [Requires<SshKey>(Operation.Create)]
    private static async Task<Results<Created<SshKeyDto>, ProblemHttpResult, ValidationProblem>> AddAsync(
        AddSshKeyRequest request, Caller caller, LtbDbContext db, AuditLog audit, CancellationToken ct)
    {
        if (!SshPublicKey.TryParse(request.PublicKey, out var key, out var error))
        {
            return Problems.Invalid("publicKey", error);
        }
        var name = string.IsNullOrWhiteSpace(request.Name) ? key.Comment : request.Name.Trim();
        var v = new Validation().MaxLength("name", name, 200);
        if (!v.IsValid)
        {
            return Problems.Invalid(v.Errors);
        }
        if (await db.SshKeys.AnyAsync(k => k.Fingerprint == key.Fingerprint, ct))
        {
            return Problems.Conflict($"the key {key.Fingerprint} is registered already (a key can belong to one account only)");
        }
        var entity = new SshKey
        {
            Id = Guid.NewGuid(),
            UserId = caller.UserId,
            Name = name,
            Algorithm = key.Algorithm,
            PublicKey = key.Text,
            Fingerprint = key.Fingerprint,
            CreatedAt = DateTimeOffset.UtcNow,
        };
        db.SshKeys.Add(entity);
        audit.Record(AuditActions.Created, "ssh-key", entity.Id, entity.Fingerprint);
        await db.SaveChangesAsync(ct);
        return TypedResults.Created($"/api/v1/ssh-keys/{entity.Id}", ToDto(entity));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveAsync([For(Operation.Delete)] Authorized<SshKey> key,
        LtbDbContext db, AuditLog audit, CancellationToken ct)
    {
        db.SshKeys.Remove(key.Value);
        audit.Record(AuditActions.Deleted, "ssh-key", key.Value.Id, key.Value.Fingerprint);
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }
}
