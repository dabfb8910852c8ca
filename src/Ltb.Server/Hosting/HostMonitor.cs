using Ltb.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ltb.Server.Hosting;

/// <summary>
/// Marks a remote host unreachable when its agent's heartbeats stop (nothing for <see cref="LtbServerOptions.HostSilence"/>)
/// and tells each of its labs, so their users see why nothing answers. The next heartbeat puts it back (the hosts endpoint).
/// </summary>
public sealed class HostMonitor(IServiceScopeFactory scopes, LtbServerOptions options, ILogger<HostMonitor> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.HeartbeatInterval.TotalSeconds)));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await CheckAsync(scope.ServiceProvider.GetRequiredService<LtbDbContext>(), stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogWarning("checking the hosts' heartbeats failed: {Error}", e.Message);
            }
        }
    }

    private async Task CheckAsync(LtbDbContext db, CancellationToken ct)
    {
        var before = DateTimeOffset.UtcNow - options.HostSilence;
        // SQLite cannot compare DateTimeOffset in SQL: the remote hosts are few, compare here.
        var ready = await db.LabHosts.Where(h => !h.IsLocal && h.State == LabHostState.Ready).ToListAsync(ct);
        foreach (var host in ready.Where(h => h.LastSeenAt is null || h.LastSeenAt < before))
        {
            host.State = LabHostState.Unreachable;
            host.UpdatedAt = DateTimeOffset.UtcNow;
            var silent = host.LastSeenAt is { } seen ? $"no heartbeat since {seen:u}" : "its agent never reported";
            log.LogWarning("host {Host} is unreachable: {Why}", host.Name, silent);
            await TellLabsAsync(db, host, $"host '{host.Name}' is unreachable ({silent}); the lab cannot be operated until it answers",
                LabEventLevel.Warning, ct);
        }
        await db.SaveChangesAsync(ct);
    }

    /// <summary>Adds an event to every lab the host holds.</summary>
    public static async Task TellLabsAsync(LtbDbContext db, LabHost host, string message, LabEventLevel level, CancellationToken ct)
    {
        var labs = await db.Labs.Where(l => l.HostId == host.Id && l.State != LabLifecycle.Removed).Select(l => l.Id).ToListAsync(ct);
        foreach (var lab in labs)
        {
            db.LabEvents.Add(new LabEvent { LabId = lab, At = DateTimeOffset.UtcNow, Level = level, Message = message });
        }
    }
}
