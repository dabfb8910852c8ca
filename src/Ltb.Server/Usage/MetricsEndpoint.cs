using System.Security.Cryptography;
using System.Text;
using Ltb.Server.Auth;
using Ltb.Server.Hosting;
using Microsoft.AspNetCore.Authorization;
using OpenTelemetry.Metrics;

namespace Ltb.Server.Usage;

/// <summary>
/// <c>/metrics</c> in Prometheus' text format, through OpenTelemetry's exporter (docs/api.md "Metrics"): the meter of
/// <see cref="UsageMetrics"/> only. Scraping needs an administrator's API token by default; an operator may give
/// Prometheus a token of its own (<see cref="LtbServerOptions.MetricsToken"/>) or open it (<see cref="LtbServerOptions.MetricsAnonymous"/>).
/// </summary>
public static class MetricsEndpoint
{
    public const string Path = "/metrics";
    private const string Policy = "metrics-scrape";

    public static void AddMetrics(IServiceCollection services, LtbServerOptions options)
    {
        services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(UsageMetrics.MeterName).AddPrometheusExporter());
        services.AddAuthorizationBuilder().AddPolicy(Policy, p => p.RequireAssertion(c => MayScrape(c, options)));
    }

    public static void Map(WebApplication app)
    {
        // The instruments exist once the meter does: made here, before the first scrape.
        app.Services.GetRequiredService<UsageMetrics>();
        app.MapPrometheusScrapingEndpoint(Path).RequireAuthorization(Policy);
    }

    private static bool MayScrape(AuthorizationHandlerContext c, LtbServerOptions options) =>
        options.MetricsAnonymous || c.User.IsInRole(LtbRoles.Admin)
        || (options.MetricsToken is { } token && c.Resource is HttpContext http
            && http.Request.Headers.Authorization.ToString() is { } header && header.StartsWith("Bearer ", StringComparison.Ordinal)
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[7..]), Encoding.UTF8.GetBytes(token)));
}
