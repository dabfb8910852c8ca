using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ltb.Server.Hosting;

/// <summary>
/// A running control plane: builds the host, prepares the database (migrations, roles, first admin, the local host),
/// and starts listening. `ltb serve` and the functional tests both start the server this way.
/// </summary>
public sealed class LtbServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LtbServer(WebApplication app) => _app = app;

    public IServiceProvider Services => _app.Services;

    /// <summary>The addresses actually bound (a port of 0 becomes the chosen port).</summary>
    public IReadOnlyList<string> Urls =>
        _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    public static async Task<LtbServer> StartAsync(LtbServerOptions options, CancellationToken ct = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(LtbServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseKestrelCore().UseUrls([.. options.Urls]);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        // Request and SQL logs are noise at Information; warnings and errors stay. Nothing here logs a secret.
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        // Data protection keys encrypt the web UI's cookies; they are kept in the data folder, which only its owner may
        // read (as the database's password hashes), so the warning that they are not encrypted at rest would only alarm.
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        // The first migration probes a history table that does not exist yet and EF logs that probe as a failed
        // command; real database errors reach the exception handler (and its log) as exceptions.
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.None);
        // Every refused token would otherwise be an information line; the audit log is where failures are recorded.
        builder.Logging.AddFilter("Ltb.Server.Auth.TokenAuthenticationHandler", LogLevel.Warning);
        builder.Services.AddLtbServer(options);

        var app = builder.Build();
        app.UseLtbServer();
        await ServerInitialization.RunAsync(app.Services, options, ct);
        await app.StartAsync(ct);
        return new LtbServer(app);
    }

    /// <summary>Runs until the process is told to stop (Ctrl+C, SIGTERM) or <paramref name="ct"/> is cancelled.</summary>
    public Task WaitForShutdownAsync(CancellationToken ct = default) => _app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
