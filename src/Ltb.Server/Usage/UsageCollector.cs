using Ltb.Runtime.Status;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ltb.Server.Usage;

/// <summary>
/// Samples every ready host's resource use through its agent (<see cref="ILabHostAgent.UsageAsync"/>) every
/// <see cref="LtbServerOptions.UsageInterval"/> and keeps the latest on the <see cref="UsageBoard"/>; each round's fresh
/// samples go to the <see cref="UsageHistory"/>. Hosts are asked side by side with a timeout each, so a silent host
/// delays the round by the timeout at most and is skipped.
/// </summary>
public sealed class UsageCollector(IServiceScopeFactory scopes, IAgentDirectory agents, UsageBoard board, UsageHistory history,
    LtbServerOptions options, ILogger<UsageCollector> log) : BackgroundService
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.UsageInterval > TimeSpan.Zero ? options.UsageInterval : TimeSpan.FromSeconds(5));
        do
        {
            try
            {
                await SampleAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogWarning("sampling the hosts' resource use failed: {Error}", e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One round: every ready host with an agent.</summary>
    public async Task SampleAsync(CancellationToken ct)
    {
        List<LabHost> hosts;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
            hosts = await db.LabHosts.AsNoTracking().ToListAsync(ct);
        }
        foreach (var gone in board.HostIds.Except(hosts.Select(h => h.Id)).ToList())
        {
            board.Forget(gone);
        }
        // Hosts are asked side by side: a silent host's time limit does not delay the others' samples.
        var samples = await Task.WhenAll(hosts.Select(host => SampleHostAsync(host, ct)));
        await history.RecordAsync(samples.OfType<(Guid, HostUsage)>().ToList(), ct);
    }

    /// <summary>The history's last minute is written when the server stops, so a restart loses none of it.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await history.FlushAsync(cancellationToken);
        }
        catch (Exception e)
        {
            // Also when the host's shutdown time ran out: a stop must not fail because the last minute was not written.
            log.LogWarning("writing the last minute of the usage history failed: {Error}", e.Message);
        }
    }

    private async Task<(Guid, HostUsage)?> SampleHostAsync(LabHost host, CancellationToken ct)
    {
        if (host.State != LabHostState.Ready || agents.For(host) is not { } agent)
        {
            board.Forget(host.Id);
            return null;
        }
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(CallTimeout);
        try
        {
            var usage = await agent.UsageAsync(limit.Token);
            board.Record(host.Id, host.Name, usage);
            return (host.Id, usage);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // The last sample stays until it is replaced or the host leaves: its time says how old it is.
            if (log.IsEnabled(LogLevel.Debug))
            {
                log.LogDebug("host {Host}: no resource sample ({Error})", host.Name, e.Message);
            }
            return null;
        }
    }
}
