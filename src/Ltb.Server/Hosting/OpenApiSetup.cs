using Ltb.Server.Auth;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.OpenApi;

namespace Ltb.Server.Hosting;

/// <summary>
/// The OpenAPI document at /openapi/v1.json, with the bearer scheme so that /docs can send a token. It passes the
/// OpenAPI linter (redocly.yaml; tests/Ltb.Server.Tests/Api/OpenApiContractTests.cs) and generates a working client.
/// </summary>
internal static class OpenApiSetup
{
    // What each tag of the endpoints (WithTags) holds, for the reference's sections. A new tag gets its line here.
    private static readonly Dictionary<string, string> TagDescriptions = new()
    {
        ["Authentication"] = "Sign in and out, the signed-in user, single sign-on",
        ["Users"] = "Accounts and their roles (admin)",
        ["Groups"] = "Courses and teams, and their members",
        ["Tokens"] = "Personal API tokens",
        ["SSH keys"] = "Public keys for SSH into lab nodes",
        ["Hosts"] = "Lab hosts, their agents and capacity",
        ["Usage"] = "Resource usage across labs: live sums, history and accounting per user, group, lab or host",
        ["Audit"] = "Who did what (admin)",
        ["Labs"] = "Deployed labs, their nodes, links, tasks, exec, logs and live events",
        ["Templates"] = "Stored topologies and their versions",
        ["Snapshots"] = "Saved states of labs: take, list, delete; restore with POST /labs (snapshot)",
        ["Node types"] = "The device catalog",
        ["VM images"] = "The controller's VM image library (disks agents fetch for VM nodes)",
        ["Policy"] = "The tenant policy: quotas and limits",
    };

    public static IServiceCollection AddLtbOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "LTB API";
            document.Info.Description =
                "Lab Topology Builder control plane. Sign in with POST /api/v1/auth/login (or create a personal token) " +
                "and send 'Authorization: Bearer TOKEN'. Errors are RFC 7807 problem details.";
            // A server URL without the trailing slash, as the linter wants it (operations' paths start with one).
            foreach (var server in document.Servers ?? [])
            {
                server.Url = server.Url?.TrimEnd('/');
            }
            foreach (var tag in document.Tags ?? new HashSet<OpenApiTag>())
            {
                tag.Description ??= tag.Name is { } name ? TagDescriptions.GetValueOrDefault(name) : null;
            }
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[ApiTokens.Scheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A session token from POST /api/v1/auth/login or a personal token (ltb_...)",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiTokens.Scheme, document)] = [] }];
            return Task.CompletedTask;
        }).AddOperationTransformer((operation, context, _) =>
        {
            AddRouteParameters(operation, context.Description.RelativePath);
            return Task.CompletedTask;
        }));

    /// <summary>
    /// Route values a handler takes through a bound parameter (<c>Authorized&lt;T&gt;</c> reads `{id}` or `{lab}` itself) are not
    /// method parameters, so the generator leaves them out: they are added here, in route order, before the others.
    /// </summary>
    private static void AddRouteParameters(OpenApiOperation operation, string? relativePath)
    {
        if (relativePath is null)
        {
            return;
        }
        var present = operation.Parameters?.Where(p => p.In == ParameterLocation.Path).Select(p => p.Name).ToHashSet() ?? [];
        var missing = RoutePatternFactory.Parse(relativePath).Parameters.Where(p => !present.Contains(p.Name))
            .Select(p => (IOpenApiParameter)new OpenApiParameter
            {
                Name = p.Name,
                In = ParameterLocation.Path,
                Required = true,
                Schema = p.ParameterPolicies.Any(c => c.Content == "guid")
                    ? new OpenApiSchema { Type = JsonSchemaType.String, Format = "uuid" }
                    : new OpenApiSchema { Type = JsonSchemaType.String },
            }).ToList();
        if (missing.Count > 0)
        {
            operation.Parameters = [.. missing, .. operation.Parameters ?? []];
        }
    }
}
