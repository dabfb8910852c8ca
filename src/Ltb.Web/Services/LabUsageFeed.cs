using Ltb.Client;
using Ltb.Contracts;

namespace Ltb.Web.Services;

/// <summary>
/// The lab page's recent CPU use per node for the node list's sparklines: the last half hour of each running node's
/// history (per minute, asked once when the page opens, the nodes side by side), then the live figures
/// (GET /labs/{lab}/usage, one request for every node) every <see cref="Refresh"/> while the page is open. Bounded: at
/// most <see cref="MaxPoints"/> values per node and one request per refresh, however many events the lab has.
/// </summary>
public sealed class LabUsageFeed
{
    public static readonly TimeSpan Refresh = TimeSpan.FromSeconds(20);
    public const int MaxPoints = 60;
    private static readonly TimeSpan HistorySpan = TimeSpan.FromMinutes(30);

    private readonly Dictionary<string, List<double>> _cpu = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeUsageDto> _now = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>A node's CPU values (percent of one core), oldest first; empty before its first sample.</summary>
    public IReadOnlyList<double> Cpu(string node)
    {
        lock (_lock)
        {
            return _cpu.TryGetValue(node, out var values) ? [.. values] : [];
        }
    }

    /// <summary>The node's last live sample (null: none yet, or it has no figures: stopped).</summary>
    public NodeUsageDto? Current(string node)
    {
        lock (_lock)
        {
            return _now.GetValueOrDefault(node);
        }
    }

    /// <summary>Puts a node's history before what is known of it (the minutes when it ran; zeros where it did not are left out).</summary>
    public void AddHistory(string node, UsageHistoryDto history)
    {
        lock (_lock)
        {
            var values = Series(node);
            values.InsertRange(0, history.Points.Where(p => p.Nodes > 0).Select(p => p.CpuPercent));
            Trim(values);
        }
    }

    /// <summary>Adds each node's live sample that is new (a sample seen before is not counted twice).</summary>
    public void Add(LabUsageDto live)
    {
        lock (_lock)
        {
            foreach (var node in live.Nodes)
            {
                if (node.Error is not null || node.At == default)
                {
                    _now.Remove(node.Node);
                    continue;
                }
                if (_now.TryGetValue(node.Node, out var last) && last.At == node.At)
                {
                    continue;
                }
                _now[node.Node] = node;
                var values = Series(node.Node);
                values.Add(node.CpuPercent);
                Trim(values);
            }
        }
    }

    /// <summary>
    /// Follows the lab until <paramref name="ct"/> ends: history of the nodes running now, then the live figures every
    /// <see cref="Refresh"/>; <paramref name="changed"/> after each. A failed request is tried again at the next refresh.
    /// </summary>
    public async Task FollowAsync(LtbApiClient api, string lab, IReadOnlyList<string> running, Func<Task> changed, CancellationToken ct)
    {
        try
        {
            var window = new UsageWindow(DateTimeOffset.UtcNow - HistorySpan, null, 60);
            await Task.WhenAll(running.Select(async node =>
            {
                try
                {
                    AddHistory(node, await api.GetLabUsageHistoryAsync(lab, window, ct, node));
                }
                catch (Exception e) when (e is LtbApiException or HttpRequestException)
                {
                    // no history (yet): the live figures fill the line
                }
            }));
            using var timer = new PeriodicTimer(Refresh);
            do
            {
                try
                {
                    Add(await api.GetLabUsageAsync(lab, ct));
                    await changed();
                }
                catch (Exception e) when (e is LtbApiException or HttpRequestException)
                {
                    // the lab is going or the server restarts: the next refresh tries again
                }
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // the page closed
        }
    }

    private List<double> Series(string node)
    {
        if (!_cpu.TryGetValue(node, out var values))
        {
            _cpu[node] = values = [];
        }
        return values;
    }

    private static void Trim(List<double> values)
    {
        if (values.Count > MaxPoints)
        {
            values.RemoveRange(0, values.Count - MaxPoints);
        }
    }
}
