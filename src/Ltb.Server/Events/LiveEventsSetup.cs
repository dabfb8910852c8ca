using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.Extensions.Logging;

namespace Ltb.Server.Events;

/// <summary>The live events' services: the hub, the capture on every save, and with PostgreSQL the relay between replicas.</summary>
public static class LiveEventsSetup
{
    public static IServiceCollection AddLtbLiveEvents(this IServiceCollection services, LtbServerOptions options)
    {
        services.AddSingleton<LiveEventHub>();
        services.AddSingleton<LiveEventCapture>();
        if (options.Database == DatabaseProvider.Postgres)
        {
            services.AddHostedService(sp => new PostgresEventRelay(sp.GetRequiredService<LiveEventHub>(), options.ResolveConnectionString(),
                sp.GetRequiredService<ILogger<PostgresEventRelay>>()));
        }
        return services;
    }
}
