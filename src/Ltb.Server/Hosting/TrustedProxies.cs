using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace Ltb.Server.Hosting;

/// <summary>
/// X-Forwarded-For and X-Forwarded-Proto, honoured only from the reverse proxies the admin names
/// (<see cref="LtbServerOptions.TrustedProxies"/>: `ltb serve --trusted-proxy`, LTB_TRUSTED_PROXIES). From any other
/// address the headers are ignored, so that a client cannot pick the address the login rate limit and the audit log see.
/// Behind a named proxy the client's address becomes the connection's (rate limits, audit) and an https proxy makes the
/// request https (OIDC cookies are then Secure, redirect addresses https).
/// </summary>
public static class TrustedProxies
{
    /// <summary>Null when <paramref name="value"/> is an IP address or a CIDR network; else what is wrong.</summary>
    public static string? Check(string value) =>
        IPAddress.TryParse(value, out _) || (value.Contains('/', StringComparison.Ordinal) && System.Net.IPNetwork.TryParse(value, out _))
            ? null
            : $"'{value}' is not an IP address or a CIDR network (e.g. 10.0.0.5 or 10.0.0.0/24)";

    public static IServiceCollection AddLtbTrustedProxies(this IServiceCollection services, LtbServerOptions options)
    {
        if (options.TrustedProxies.Select(Check).FirstOrDefault(e => e is not null) is { } error)
        {
            throw new InvalidOperationException($"trusted proxy {error}");
        }
        return services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // The framework trusts loopback by default: only what the admin names counts.
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            foreach (var proxy in options.TrustedProxies)
            {
                if (proxy.Contains('/', StringComparison.Ordinal))
                {
                    o.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(proxy));
                }
                else
                {
                    o.KnownProxies.Add(IPAddress.Parse(proxy));
                }
            }
            // Proxies in a chain (each named) are walked back to the first address that is not a named proxy: the client.
            o.ForwardLimit = null;
        });
    }

    /// <summary>First in the pipeline; without named proxies the headers are not looked at.</summary>
    public static WebApplication UseLtbTrustedProxies(this WebApplication app)
    {
        if (app.Services.GetRequiredService<LtbServerOptions>().TrustedProxies.Count > 0)
        {
            app.UseForwardedHeaders();
        }
        return app;
    }
}
