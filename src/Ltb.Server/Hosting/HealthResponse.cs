using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Ltb.Server.Hosting;

/// <summary>/readyz answers with each check's status and message (no exception text: it may hold connection details).</summary>
internal static class HealthResponse
{
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), e.Value.Description }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, JsonSerializerOptions.Web, context.RequestAborted);
    }
}
