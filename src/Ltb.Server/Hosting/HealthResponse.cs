using System.Text.Json;
using Ltb.Server.Auth;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Ltb.Server.Hosting;

/// <summary>
/// /readyz answers with each check's status and message (no exception text: it may hold connection details). It is
/// anonymous (load balancers probe it), so host names, addresses and agent errors are only added for an admin who sends
/// a token (<see cref="AdminDetail"/>).
/// </summary>
internal static class HealthResponse
{
    /// <summary>The key of a check's data that only admins see.</summary>
    public const string AdminDetail = "adminDetail";

    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var admin = context.Features.Get<Caller>()?.IsAdmin == true;
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                e.Value.Description,
                detail = admin ? e.Value.Data.GetValueOrDefault(AdminDetail) as string : null,
            }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, JsonSerializerOptions.Web, context.RequestAborted);
    }
}
