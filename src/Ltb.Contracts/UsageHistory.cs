namespace Ltb.Contracts;

/// <summary>
/// One step of a usage series (docs/api.md "Usage history"): over the step starting at <see cref="At"/>, the average
/// number of running nodes, CPU (percent of one core: 200 = two cores busy) and memory in use, and the bytes the nodes'
/// interfaces received and sent during it.
/// </summary>
public sealed record UsagePointDto(DateTimeOffset At, double Nodes, double CpuPercent, double MemoryBytes, long RxBytes, long TxBytes);

/// <summary>A usage series from <see cref="From"/> (inclusive) to <see cref="To"/> (exclusive), one point per <see cref="StepSeconds"/>.</summary>
public sealed record UsageHistoryDto(DateTimeOffset From, DateTimeOffset To, int StepSeconds, IReadOnlyList<UsagePointDto> Points);

/// <summary>
/// GET /api/v1/hosts/{id}/usage/history: the machine's own CPU and memory (<see cref="Machine"/>; its <c>Nodes</c> is 1
/// while it was sampled) and the sum of the nodes it ran (<see cref="Nodes"/>), over the same steps.
/// </summary>
public sealed record HostUsageHistoryDto(Guid Host, string Name, DateTimeOffset From, DateTimeOffset To, int StepSeconds,
    IReadOnlyList<UsagePointDto> Machine, IReadOnlyList<UsagePointDto> Nodes);

/// <summary>One line of an accounting report: what a user, group, lab or host used over the period.</summary>
public sealed record UsageReportRowDto(Guid? Id, string Name, double NodeHours, double CpuHours, double MemoryGibHours, long RxBytes, long TxBytes);

/// <summary>
/// GET /api/v1/usage/report: node-hours, CPU-hours (core-hours) and memory-GiB-hours per <see cref="By"/> (user, group,
/// lab or host) over the period, of the usage the caller may see, and their total.
/// </summary>
public sealed record UsageReportDto(DateTimeOffset From, DateTimeOffset To, string By, IReadOnlyList<UsageReportRowDto> Rows, UsageReportRowDto Total);

/// <summary>A user's, group's, lab's or host's live sums (its nodes' last samples).</summary>
public sealed record UsageSumDto(Guid? Id, string Name, UsageTotalsDto Totals);

/// <summary>GET /api/v1/usage: the live sums per <see cref="By"/> of the nodes the caller may see, and their total.</summary>
public sealed record UsageSumsDto(string By, IReadOnlyList<UsageSumDto> Items, UsageTotalsDto Total);

/// <summary>
/// The period of a usage query as query parameters: <c>from</c> and <c>to</c> (ISO 8601; the server's defaults when
/// null) and <c>step</c> in seconds (the server chooses when null).
/// </summary>
public sealed record UsageWindow(DateTimeOffset? From = null, DateTimeOffset? To = null, int? Step = null)
{
    public string Query() => string.Join("&", new[]
    {
        From is { } f ? "from=" + Uri.EscapeDataString(f.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture)) : null,
        To is { } t ? "to=" + Uri.EscapeDataString(t.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture)) : null,
        Step is { } s ? "step=" + s.ToString(System.Globalization.CultureInfo.InvariantCulture) : null,
    }.Where(p => p is not null));
}
