using System.Globalization;

namespace Ltb.Runtime.Usage;

/// <summary>The host's own figures from the kernel: CPU time (<c>/proc/stat</c>), memory (<c>/proc/meminfo</c>), a folder's filesystem.</summary>
internal static class HostReadings
{
    /// <summary>The busy and total CPU time of all cores, in clock ticks (<c>/proc/stat</c>'s first line).</summary>
    public static (ulong Busy, ulong Total) CpuTicks()
    {
        var line = File.ReadLines("/proc/stat").First();
        var v = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(x => ulong.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0).ToArray();
        // user nice system idle iowait irq softirq steal (guest time is counted in user already)
        var total = v.Take(8).Aggregate(0UL, (a, b) => a + b);
        var idle = v.Length > 4 ? v[3] + v[4] : 0;
        return (total - idle, total);
    }

    /// <summary>Total and used memory (total minus MemAvailable), in bytes.</summary>
    public static (ulong Total, ulong Used) Memory()
    {
        ulong total = 0, available = 0;
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kib))
            {
                if (parts[0] == "MemTotal:")
                {
                    total = kib * 1024;
                }
                else if (parts[0] == "MemAvailable:")
                {
                    available = kib * 1024;
                }
            }
        }
        return (total, total - Math.Min(total, available));
    }

    /// <summary>Size and use of the filesystem holding <paramref name="folder"/>.</summary>
    public static (ulong Total, ulong Used) Disk(string folder)
    {
        Directory.CreateDirectory(folder);
        var drive = new DriveInfo(Path.GetFullPath(folder));
        return ((ulong)drive.TotalSize, (ulong)(drive.TotalSize - drive.AvailableFreeSpace));
    }
}
