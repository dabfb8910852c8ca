using System.Threading.RateLimiting;

namespace Ltb.Server.Hosting;

/// <summary>Rate limits on the endpoints that guess or mint secrets. A refusal is 429 with Retry-After and problem details.</summary>
public static class RateLimits
{
    /// <summary>Per client address: password guessing.</summary>
    public const string Login = "login";

    /// <summary>Per user: minting tokens.</summary>
    public const string Tokens = "tokens";

    public static IServiceCollection AddLtbRateLimits(this IServiceCollection services, LtbServerOptions options) =>
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(Login, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => PerMinute(options.LoginPermitsPerMinute)));
            o.AddPolicy(Tokens, context => RateLimitPartition.GetFixedWindowLimiter(
                context.User.Identity?.Name ?? context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => PerMinute(options.TokenPermitsPerMinute)));
            o.OnRejected = (context, _) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retry))
                {
                    context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString();
                }
                // The body is written by the status-code-pages middleware (problem details), like every other error.
                return ValueTask.CompletedTask;
            };
        });

    private static FixedWindowRateLimiterOptions PerMinute(int permits) => new()
    {
        PermitLimit = permits,
        Window = TimeSpan.FromMinutes(1),
        QueueLimit = 0,
    };
}
