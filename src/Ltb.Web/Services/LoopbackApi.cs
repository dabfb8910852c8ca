using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Ltb.Web.Services;

/// <summary>
/// The pages call the REST API of their own server over loopback, through Ltb.Client, with the signed-in user's session
/// token: every access check, validation and audit entry is the API's, and the UI holds no second copy of them. One
/// connection pool for all circuits.
/// </summary>
public sealed class LoopbackApi(IServer server) : IDisposable
{
    private readonly SocketsHttpHandler _handler = new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        MaxConnectionsPerServer = 256,
    };

    private Uri? _address;

    /// <summary>
    /// The server's first bound address (plain HTTP preferred: TLS is a proxy's job here), with a wildcard host made a
    /// loopback address.
    /// </summary>
    public Uri Address => _address ??= Resolve();

    /// <summary>An HttpClient for one circuit (it shares the pool; disposing it leaves the pool open).</summary>
    public HttpClient CreateHttpClient(string token)
    {
        var http = new HttpClient(_handler, disposeHandler: false) { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(100) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private Uri Resolve()
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var first = addresses.OrderBy(a => a.StartsWith("https", StringComparison.Ordinal) ? 1 : 0).FirstOrDefault()
            ?? throw new InvalidOperationException("the server has no bound address yet");
        var uri = new UriBuilder(first.Replace("://+", "://localhost", StringComparison.Ordinal)
            .Replace("://*", "://localhost", StringComparison.Ordinal));
        uri.Host = uri.Host switch
        {
            "0.0.0.0" or "localhost" => "127.0.0.1",
            "[::]" or "::" => "[::1]",
            var h => h,
        };
        return uri.Uri;
    }

    public void Dispose() => _handler.Dispose();
}
