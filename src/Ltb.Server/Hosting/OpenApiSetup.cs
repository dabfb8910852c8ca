using Ltb.Server.Auth;
using Microsoft.OpenApi;

namespace Ltb.Server.Hosting;

/// <summary>The OpenAPI document at /openapi/v1.json, with the bearer scheme so that /docs can send a token.</summary>
internal static class OpenApiSetup
{
    public static IServiceCollection AddLtbOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "LTB API";
            document.Info.Description =
                "Lab Topology Builder control plane. Sign in with POST /api/v1/auth/login (or create a personal token) " +
                "and send 'Authorization: Bearer TOKEN'. Errors are RFC 7807 problem details.";
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
        }));
}
