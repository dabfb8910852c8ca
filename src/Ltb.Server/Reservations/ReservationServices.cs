using Ltb.Server.Hosting;

namespace Ltb.Server.Reservations;

public static class ReservationServices
{
    /// <summary>The reservation book (admission, per request) and the scheduler (one per replica; each step claimed in the store).</summary>
    public static IServiceCollection AddLtbReservations(this IServiceCollection services, LtbServerOptions options)
    {
        services.AddScoped<ReservationDemand>();
        services.AddScoped<ReservationForms>();
        services.AddScoped<ReservationBook>();
        services.AddScoped<ReservationLabs>();
        services.AddSingleton<ReservationScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<ReservationScheduler>());
        return services;
    }
}
