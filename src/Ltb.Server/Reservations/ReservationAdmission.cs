using System.Globalization;
using Ltb.Server.Data;
using Ltb.Server.Labs.Placement;

namespace Ltb.Server.Reservations;

/// <summary>What a booking asks: <paramref name="Labs"/> labs of <paramref name="PerLab"/> each, from <paramref name="From"/> to <paramref name="To"/>.</summary>
public sealed record CapacityRequest(DateTimeOffset From, DateTimeOffset To, int Labs, CpuMemory PerLab, IReadOnlyCollection<string> Kinds);

/// <summary>A resource one host lacks for a lab, at the instant its bookings peak.</summary>
public sealed record Shortage(string Host, string Resource, DateTimeOffset At, string Needed, string Free, string Capacity)
{
    public override string ToString() =>
        $"host '{Host}' is short of {Resource} at {Instant(At)} (a lab needs {Needed}, {Free} free of {Capacity})";

    public static string Instant(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

/// <summary>The hosts chosen for the labs, in order; or why not (each host's shortage, or why it takes no labs).</summary>
public sealed record AdmissionResult(IReadOnlyList<Guid>? Hosts, string? Refusal, IReadOnlyList<Shortage> Shortages, IReadOnlyList<string> Unusable)
{
    public bool Admitted => Hosts is not null;
}

/// <summary>
/// Admission of a booking against every host's bookings (pure: no database, no clock). A host takes labs when it is
/// ready, the caller may place labs on it and it runs the template's kinds; each lab goes, one after the other, to the
/// host with the most memory left after it for the whole window (then CPUs, then the name), like
/// <see cref="PlacementPolicy"/> places one lab now. A reservation's labs each run on one host (no spanning).
/// </summary>
public static class ReservationAdmission
{
    /// <summary>How many candidate windows <see cref="NearestWindow"/> tries, nearest first.</summary>
    public const int MaxCandidates = 200;

    public static AdmissionResult Admit(CapacityRequest request, IReadOnlyList<HostOffer> hosts, IReadOnlyDictionary<Guid, List<Booking>> bookings)
    {
        var unusable = new List<string>();
        var usable = new List<(HostOffer Host, PeakLoad Peak, CpuMemory Free)>();
        foreach (var host in hosts.OrderBy(h => h.Name, StringComparer.Ordinal))
        {
            var why = new List<string>();
            if (!host.MayPlace)
            {
                why.Add("you may not place labs on it");
            }
            if (host.State != LabHostState.Ready)
            {
                why.Add($"not ready ({host.State.ToString().ToLowerInvariant()})");
            }
            if (request.Kinds.Where(k => !host.RunsKind(k)).Order(StringComparer.Ordinal).ToList() is { Count: > 0 } kinds)
            {
                why.Add($"cannot run kind {string.Join(", ", kinds)}");
            }
            if (why.Count > 0)
            {
                unusable.Add($"host '{host.Name}': {string.Join(", ", why)}");
                continue;
            }
            var peak = CapacityTimeline.PeakWithin(bookings.GetValueOrDefault(host.Id) ?? [], request.From, request.To);
            usable.Add((host, peak, host.Capacity - peak.Load));
        }

        var chosen = new List<Guid>();
        var free = usable.Select(u => u.Free).ToArray();
        for (var lab = 0; lab < request.Labs; lab++)
        {
            var best = -1;
            for (var i = 0; i < usable.Count; i++)
            {
                if (free[i].Holds(request.PerLab) && (best < 0 || Better(free[i] - request.PerLab, free[best] - request.PerLab)))
                {
                    best = i;
                }
            }
            if (best < 0)
            {
                var shortages = usable.Select((u, i) => ShortageOf(u.Host, u.Peak, free[i], request.PerLab)).OfType<Shortage>().ToList();
                return new AdmissionResult(null, Refusal(request, lab, shortages, unusable), shortages, unusable);
            }
            chosen.Add(usable[best].Host.Id);
            free[best] -= request.PerLab;
        }
        return new AdmissionResult(chosen, null, [], unusable);
    }

    /// <summary>
    /// The admissible window of the same length nearest to the requested one, starting no earlier than
    /// <paramref name="earliest"/>: windows that start where a booking ends, or end where one starts (capacity changes only
    /// there), tried nearest first. Null when none of the nearest <see cref="MaxCandidates"/> fits.
    /// </summary>
    public static (DateTimeOffset From, DateTimeOffset To)? NearestWindow(CapacityRequest request, IReadOnlyList<HostOffer> hosts,
        IReadOnlyDictionary<Guid, List<Booking>> bookings, DateTimeOffset earliest)
    {
        var length = request.To - request.From;
        var starts = new HashSet<DateTimeOffset> { earliest > request.From ? earliest : request.From };
        foreach (var b in bookings.Values.SelectMany(x => x))
        {
            if (b.To != DateTimeOffset.MaxValue)
            {
                starts.Add(b.To);
            }
            if (b.From != DateTimeOffset.MinValue && b.From - length > earliest)
            {
                starts.Add(b.From - length);
            }
        }
        foreach (var start in starts.Where(s => s >= earliest && s <= DateTimeOffset.MaxValue - length)
                     .OrderBy(s => (s - request.From).Duration()).ThenBy(s => s).Take(MaxCandidates))
        {
            if (Admit(request with { From = start, To = start + length }, hosts, bookings).Admitted)
            {
                return (start, start + length);
            }
        }
        return null;
    }

    private static bool Better(CpuMemory a, CpuMemory b) =>
        a.MemoryBytes != b.MemoryBytes ? a.MemoryBytes > b.MemoryBytes : a.Cpus > b.Cpus + 1e-9;

    private static Shortage? ShortageOf(HostOffer host, PeakLoad peak, CpuMemory free, CpuMemory need)
    {
        if (free.MemoryBytes < need.MemoryBytes)
        {
            return new Shortage(host.Name, "memory", peak.MemoryAt, CpuMemory.FormatMemory(need.MemoryBytes),
                CpuMemory.FormatMemory(Math.Max(0, free.MemoryBytes)), CpuMemory.FormatMemory(host.Capacity.MemoryBytes));
        }
        if (free.Cpus < need.Cpus - 1e-9)
        {
            return new Shortage(host.Name, "CPU", peak.CpuAt, $"{CpuMemory.FormatCpus(need.Cpus)} CPUs",
                $"{CpuMemory.FormatCpus(Math.Max(0, free.Cpus))} CPUs", $"{CpuMemory.FormatCpus(host.Capacity.Cpus)} CPUs");
        }
        return null;
    }

    private static string Refusal(CapacityRequest request, int placed, List<Shortage> shortages, List<string> unusable)
    {
        var what = $"{request.Labs} lab{(request.Labs == 1 ? "" : "s")} of {request.PerLab} from {Shortage.Instant(request.From)} " +
            $"to {Shortage.Instant(request.To)}";
        var fit = placed == 0 ? "none fits" : $"only {placed} fit{(placed == 1 ? "s" : "")}";
        var reasons = shortages.Select(s => s.ToString()).Concat(unusable).ToList();
        return $"the reservation needs {what}, and {fit}: {(reasons.Count == 0 ? "there is no lab host" : string.Join("; ", reasons))}";
    }
}
