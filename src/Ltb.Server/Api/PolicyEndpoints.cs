using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Policy;
using Ltb.Topology.Policy;
using Microsoft.Net.Http.Headers;

namespace Ltb.Server.Api;

/// <summary>
/// /api/v1/policy: the tenant policy (what non-admins' topologies may use, node limits, quotas). Everyone signed in
/// reads it (students see what is allowed); admins replace it. The body is the policy document of `ltb serve --policy`
/// in JSON; keys left out take their defaults. Access rules: <see cref="SettingAuthorizer"/>.
/// </summary>
public static class PolicyEndpoints
{
    private const string What = "policy";
    private const int MaxBytes = 256 * 1024;

    public static RouteGroupBuilder MapPolicyEndpoints(this RouteGroupBuilder api)
    {
        var policy = api.MapGroup("/policy").WithTags("Policy");
        policy.MapGet("/", GetAsync).WithName("GetPolicy").WithSummary("The tenant policy; the ETag is its version (0: the defaults, never changed)")
            .Produces<TenantPolicy>();
        policy.MapPut("/", PutAsync).WithName("ReplacePolicy").WithSummary("Replace the tenant policy (admin, optional If-Match); keys left out take their defaults")
            .Accepts<TenantPolicy>("application/json").Produces<TenantPolicy>();
        return api;
    }

    [Requires<ServerSetting>(Operation.Read)]
    private static async Task<IResult> GetAsync(PolicyStore store, HttpContext http, CancellationToken ct)
    {
        var (policy, row) = await store.ReadAsync(ct);
        http.Response.Headers.ETag = ETags.For(row?.Version ?? 0);
        return Json(policy);
    }

    [Requires<ServerSetting>(Operation.Update)]
    private static async Task<IResult> PutAsync(HttpRequest request, Caller caller, PolicyStore store, AuditLog audit, LtbDbContext db,
        CancellationToken ct)
    {
        if (request.ContentLength > MaxBytes)
        {
            return Problems.Invalid(What, $"a policy document has at most {MaxBytes / 1024} KiB");
        }
        using var reader = new StreamReader(request.Body);
        var buffer = new char[MaxBytes + 1];
        var length = await reader.ReadBlockAsync(buffer, ct);
        if (length > MaxBytes)
        {
            return Problems.Invalid(What, $"a policy document has at most {MaxBytes / 1024} KiB");
        }
        var (policy, errors) = TenantPolicyFile.Parse(new string(buffer, 0, length), "policy");
        if (policy is null)
        {
            return Problems.Invalid(new Dictionary<string, string[]> { [What] = [.. errors] });
        }
        long? expected = null;
        if (request.Headers.IfMatch.Count > 0)
        {
            if (!EntityTagHeaderValue.TryParseList(request.Headers.IfMatch, out var tags) || tags.Count != 1)
            {
                return Problems.PreconditionFailed();
            }
            if (!tags[0].Equals(EntityTagHeaderValue.Any))
            {
                if (!long.TryParse(tags[0].Tag.AsSpan().Trim('"'), out var v))
                {
                    return Problems.PreconditionFailed();
                }
                expected = v;
            }
        }
        var saved = await store.SaveAsync(policy, caller.UserName, expected, ct);
        if (saved is null)
        {
            return Problems.PreconditionFailed();
        }
        // The whole document, compact: the audit log says what the policy became (cut at the log's 2000 characters).
        audit.Record(AuditActions.Updated, What, PolicyStore.Key, System.Text.Json.Nodes.JsonNode.Parse(TenantPolicyFile.ToJson(policy))!.ToJsonString());
        await db.SaveChangesAsync(ct);
        request.HttpContext.Response.Headers.ETag = ETags.For(saved.Version);
        return Json(policy);
    }

    /// <summary>The policy as its document (the converter that reads its capability set is the file's).</summary>
    private static ContentHttpResult Json(TenantPolicy policy) => TypedResults.Text(TenantPolicyFile.ToJson(policy), "application/json");
}
