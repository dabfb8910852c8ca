using System.Globalization;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// The cgroup a VM node's QEMU runs in (<c>ltb-vm/HASH</c>), with the node's limits, as Docker gives a container its
/// own: memory (the guest's RAM plus QEMU's own overhead), CPU time (the node's CPUs as a CFS quota) and processes.
/// Works on cgroup v1 (memory, cpu, cpuacct, pids hierarchies) and v2 (one unified hierarchy). The driver starts QEMU paused,
/// moves it here, and only then lets the guest run, so the guest's memory is charged here from its first page.
/// </summary>
public sealed class VmCgroup(string name, string root = "/sys/fs/cgroup")
{
    /// <summary>QEMU's own memory beside the guest's (device emulation, the TCG translation cache, buffers).</summary>
    public const long OverheadBytes = 192L * 1024 * 1024;
    private const long PeriodMicros = 100_000;

    private bool V1 => Directory.Exists(Path.Combine(root, "memory"));

    private IEnumerable<string> Folders => V1
        ? new[] { "memory", "cpu", "cpuacct", "pids" }.Select(c => Path.Combine(root, c, "ltb-vm", name))
        : [Path.Combine(root, "ltb-vm", name)];

    /// <summary>Creates the cgroup with the limits and moves <paramref name="pid"/> (all its threads) into it.</summary>
    public void Confine(long pid, long guestMemoryBytes, double cpus, long? pids)
    {
        var memory = (guestMemoryBytes + OverheadBytes).ToString(CultureInfo.InvariantCulture);
        var quota = ((long)Math.Ceiling(cpus * PeriodMicros)).ToString(CultureInfo.InvariantCulture);
        var pidsMax = pids?.ToString(CultureInfo.InvariantCulture) ?? "max";
        if (V1)
        {
            // cpuacct (its CPU time, for stats) is a hierarchy of its own on some hosts, one with cpu on others.
            var (mem, cpu, cpuacct, pid_) = (Make("memory"), Make("cpu"), Make("cpuacct"), Make("pids"));
            Write(mem, "memory.limit_in_bytes", memory);
            // Swap counts too where the kernel accounts it (as Docker's --memory with the same --memory-swap).
            TryWrite(mem, "memory.memsw.limit_in_bytes", memory);
            Write(cpu, "cpu.cfs_period_us", PeriodMicros.ToString(CultureInfo.InvariantCulture));
            Write(cpu, "cpu.cfs_quota_us", quota);
            Write(pid_, "pids.max", pidsMax);
            foreach (var folder in new[] { mem, cpu, cpuacct, pid_ })
            {
                Write(folder, "cgroup.procs", pid.ToString(CultureInfo.InvariantCulture));
            }
            return;
        }
        var parent = Path.Combine(root, "ltb-vm");
        Directory.CreateDirectory(parent);
        TryWrite(root, "cgroup.subtree_control", "+memory +cpu +pids");
        TryWrite(parent, "cgroup.subtree_control", "+memory +cpu +pids");
        var own = Path.Combine(parent, name);
        Directory.CreateDirectory(own);
        Write(own, "memory.max", memory);
        TryWrite(own, "memory.swap.max", "0");
        Write(own, "cpu.max", $"{quota} {PeriodMicros}");
        Write(own, "pids.max", pidsMax);
        Write(own, "cgroup.procs", pid.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The memory the cgroup's processes use now, or null without one.</summary>
    public (ulong Memory, ulong CpuNanoseconds, ulong Pids)? Usage()
    {
        string? Read(string folder, string file) => File.Exists(Path.Combine(folder, file)) ? File.ReadAllText(Path.Combine(folder, file)).Trim() : null;
        ulong Num(string? s) => ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;
        if (V1)
        {
            var cpuacct = Path.Combine(root, "cpuacct", "ltb-vm", name);
            var mem = Read(Path.Combine(root, "memory", "ltb-vm", name), "memory.usage_in_bytes");
            return mem is null ? null
                : (Num(mem), Num(Read(cpuacct, "cpuacct.usage")), Num(Read(Path.Combine(root, "pids", "ltb-vm", name), "pids.current")));
        }
        var own = Path.Combine(root, "ltb-vm", name);
        var current = Read(own, "memory.current");
        var usec = Read(own, "cpu.stat")?.Split('\n').FirstOrDefault(l => l.StartsWith("usage_usec ", StringComparison.Ordinal))?.Split(' ')[1];
        return current is null ? null : (Num(current), Num(usec) * 1000, Num(Read(own, "pids.current")));
    }

    /// <summary>
    /// Removes the cgroup once its processes have exited; an absent one is no error. A process that was just killed
    /// leaves the cgroup a moment after it is gone from sight (the kernel refuses the removal as busy until then).
    /// </summary>
    public async Task RemoveAsync(CancellationToken ct)
    {
        foreach (var folder in Folders)
        {
            for (var attempt = 0; Directory.Exists(folder); attempt++)
            {
                try
                {
                    Directory.Delete(folder);
                }
                catch (IOException) when (attempt < 50)
                {
                    await Task.Delay(100, ct);
                }
            }
        }
    }

    private string Make(string controller)
    {
        var folder = Path.Combine(root, controller, "ltb-vm", name);
        Directory.CreateDirectory(folder);
        return folder;
    }

    private static void Write(string folder, string file, string value) => File.WriteAllText(Path.Combine(folder, file), value);

    private static void TryWrite(string folder, string file, string value)
    {
        try
        {
            Write(folder, file, value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not offered by this kernel (swap accounting off, a controller not delegated): the other limits stand.
        }
    }
}
