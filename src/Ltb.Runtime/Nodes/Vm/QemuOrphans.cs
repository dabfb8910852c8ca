namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// An LTB QEMU whose node folder is gone: its VM still runs, but no driver lists it any more (the data folder was
/// deleted or lost under it), so destroy cannot reach it.
/// </summary>
/// <param name="Lab">The lab's runtime name, from QEMU's pid file path (<c>VMROOT/LAB/NODE/qemu.pid</c>).</param>
/// <param name="SocketFolder">Its <c>/run/ltb-vm/HASH</c> folder (QMP and console sockets; HASH also names its cgroup).</param>
public sealed record QemuOrphan(long Pid, string Lab, string Node, string SocketFolder);

/// <summary>
/// Finds and ends <see cref="QemuOrphan"/>s for `ltb host prune`, from /proc alone: a process is LTB's QEMU when it runs
/// <see cref="QemuCommandLine.Binary"/> with its QMP socket under <see cref="VmNodeFiles.SocketRoot"/> and a pid file,
/// which is how <see cref="QemuCommandLine.Build"/> starts every one. QEMUs of other tools (no such socket) are never
/// touched, nor LTB QEMUs whose node folder still exists (a driver of some installation lists them).
/// </summary>
public static class QemuOrphans
{
    public static IReadOnlyList<QemuOrphan> Find()
    {
        var found = new List<QemuOrphan>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!long.TryParse(Path.GetFileName(dir), out var pid) || !ProcessState.Alive(pid) || Of(pid) is not { } orphan)
            {
                continue;
            }
            found.Add(orphan);
        }
        return found;
    }

    private static QemuOrphan? Of(long pid)
    {
        string[] argv;
        try
        {
            argv = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
        }
        catch (IOException)
        {
            return null;
        }
        if (argv.Length == 0 || Path.GetFileName(argv[0]) != QemuCommandLine.Binary)
        {
            return null;
        }
        var pidFile = After(argv, "-pidfile");
        var qmp = After(argv, "-qmp");
        var prefix = $"unix:{VmNodeFiles.SocketRoot}/";
        if (pidFile is null || qmp is null || !qmp.StartsWith(prefix, StringComparison.Ordinal) || Path.GetDirectoryName(pidFile) is not { } nodeFolder
            || Directory.Exists(nodeFolder))
        {
            return null;
        }
        var hash = qmp[prefix.Length..].Split('/')[0];
        return new QemuOrphan(pid, Path.GetFileName(Path.GetDirectoryName(nodeFolder)) ?? "", Path.GetFileName(nodeFolder),
            Path.Combine(VmNodeFiles.SocketRoot, hash));
    }

    private static string? After(string[] argv, string option)
    {
        var i = Array.IndexOf(argv, option);
        return i >= 0 && i + 1 < argv.Length ? argv[i + 1] : null;
    }

    /// <summary>Kills the orphan (SIGKILL: nothing of its guest is worth a clean shutdown) and removes its cgroup and sockets.</summary>
    public static async Task EndAsync(QemuOrphan orphan, CancellationToken ct)
    {
        try
        {
            System.Diagnostics.Process.GetProcessById((int)orphan.Pid).Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // gone meanwhile
        }
        for (var i = 0; i < 100 && ProcessState.Alive(orphan.Pid); i++)
        {
            await Task.Delay(100, ct);
        }
        await new VmCgroup(Path.GetFileName(orphan.SocketFolder)).RemoveAsync(ct);
        if (Directory.Exists(orphan.SocketFolder))
        {
            Directory.Delete(orphan.SocketFolder, recursive: true);
        }
    }
}
