using System.Globalization;

namespace Ltb.Server.Labs.Placement;

/// <summary>CPUs (fractions allowed) and memory: what a node or lab demands, what a host has or has free.</summary>
public readonly record struct CpuMemory(double Cpus, long MemoryBytes)
{
    public static CpuMemory Zero => new(0, 0);

    public static CpuMemory operator +(CpuMemory a, CpuMemory b) => new(a.Cpus + b.Cpus, a.MemoryBytes + b.MemoryBytes);

    public static CpuMemory operator -(CpuMemory a, CpuMemory b) => new(a.Cpus - b.Cpus, a.MemoryBytes - b.MemoryBytes);

    /// <summary>Whether <paramref name="demand"/> fits into these (free) resources. A small epsilon absorbs sums of fractions.</summary>
    public bool Holds(CpuMemory demand) => demand.Cpus <= Cpus + 1e-9 && demand.MemoryBytes <= MemoryBytes;

    public override string ToString() => $"{FormatCpus(Cpus)} CPUs and {FormatMemory(MemoryBytes)}";

    public static string FormatCpus(double cpus) => Math.Round(cpus, 2).ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>GiB with at most one decimal; MiB below one GiB (node demands are often a few hundred MiB).</summary>
    public static string FormatMemory(long bytes)
    {
        const double GiB = 1L << 30;
        const double MiB = 1L << 20;
        return Math.Abs(bytes) >= GiB
            ? (bytes / GiB).ToString("0.#", CultureInfo.InvariantCulture) + " GiB"
            : Math.Round(bytes / MiB).ToString("0", CultureInfo.InvariantCulture) + " MiB";
    }
}
