using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Hosting;

namespace Ltb.Server.Api;

/// <summary>
/// /api/v1/tokens: personal API tokens for scripts (and the caller's login sessions, listed to be revoked).
/// The secret is in the creation response only. Access rules: <see cref="ApiTokenAuthorizer"/>.
/// </summary>
public static class TokensEndpoints
{
    private const string What = "token";

    public static RouteGroupBuilder MapTokensEndpoints(this RouteGroupBuilder api)
    {
        var tokens = api.MapGroup("/tokens").WithTags("Tokens");
        tokens.MapGet("/", ListAsync).WithName("ListTokens").WithSummary("One's live tokens (admins: userId= for another user's)");
        tokens.MapPost("/", CreateAsync).WithName("CreateToken").RequireRateLimiting(RateLimits.Tokens)
            .WithSummary("Create a personal token; the response holds the secret, shown this once");
        tokens.MapDelete("/{id:guid}", RevokeAsync).WithName("RevokeToken").WithSummary("Revoke a token");
        return api;
    }

    public static TokenDto ToDto(ApiToken t) =>
        new(t.Id, t.UserId, t.Name, t.Kind.ToString().ToLowerInvariant(), t.Prefix, t.CreatedAt, t.ExpiresAt, t.LastUsedAt);

    [Requires<ApiToken>(Operation.Read)]
    private static async Task<Results<Ok<Paged<TokenDto>>, ProblemHttpResult, ValidationProblem>> ListAsync(Caller caller,
        LtbDbContext db, IResourceAuthorizer<ApiToken> authz, Guid? userId, [AsParameters] PageQuery paging, CancellationToken ct)
    {
        var owner = userId ?? caller.UserId;
        var now = DateTimeOffset.UtcNow;
        var query = authz.Visible(db.ApiTokens, caller)
            .Where(t => t.UserId == owner && t.RevokedAt == null && (t.ExpiresAt == null || t.ExpiresAt > now));
        return TypedResults.Ok(await query.OrderBy(t => t.CreatedAt).ThenBy(t => t.Id).ToPageAsync(paging.Request, ToDto, ct));
    }

    [Requires<ApiToken>(Operation.Create)]
    private static async Task<Results<Created<CreatedTokenDto>, ProblemHttpResult, ValidationProblem>> CreateAsync(
        CreateTokenRequest request, Caller caller, LtbDbContext db, AuditLog audit, CancellationToken ct)
    {
        var v = new Validation()
            .Require("name", request.Name, Validation.Label(), Validation.LabelRule)
            .Range("expiresInDays", request.ExpiresInDays, 1, 365);
        if (!v.IsValid)
        {
            return Problems.Invalid(v.Errors);
        }
        var expires = request.ExpiresInDays is { } days ? DateTimeOffset.UtcNow.AddDays(days) : (DateTimeOffset?)null;
        var issued = ApiTokens.Issue(db, caller.UserId, ApiTokenKind.Personal, request.Name, expires);
        audit.Record(AuditActions.Created, What, issued.Token.Id, request.Name);
        await db.SaveChangesAsync(ct);
        return TypedResults.Created($"/api/v1/tokens/{issued.Token.Id}", new CreatedTokenDto(ToDto(issued.Token), issued.Secret));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync([For(Operation.Delete)] Authorized<ApiToken> token,
        LtbDbContext db, AuditLog audit, CancellationToken ct)
    {
        token.Value.RevokedAt = DateTimeOffset.UtcNow;
        audit.Record(AuditActions.TokenRevoked, What, token.Value.Id, token.Value.Name);
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }
}
