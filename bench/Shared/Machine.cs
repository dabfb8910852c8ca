using System.Globalization;

/// <summary>What every benchmark prints about the machine it ran on, and where the repository is.</summary>
internal static class Machine
{
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LTB.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("run from the LTB repository's build output (LTB.slnx not found above it)");
    }

    public static string CpuModel() => File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
        ?.Split(':', 2)[1].Trim() ?? "unknown CPU";

    public static double MemoryGiB() => File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]
        is var kb ? double.Parse(kb, CultureInfo.InvariantCulture) / 1024 / 1024 : 0;

    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    public static string Describe() =>
        $"{Environment.ProcessorCount} cores, {CpuModel()}, {MemoryGiB():0.#} GiB; load average {LoadAverage()}";
}
