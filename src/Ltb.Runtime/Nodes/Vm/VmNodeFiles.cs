using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>What the VM driver remembers of a node (<c>node.json</c>): enough to start it again and to list it.</summary>
/// <param name="Argv">QEMU's command line, as built at create (an argument vector: never a shell line).</param>
/// <param name="ReadyLog">A regular expression the console prints when the guest is ready (null: no console check).</param>
/// <param name="ReadyPort">A TCP port on the management address that answers when the guest is ready (null: none).</param>
/// <param name="Exec">How exec reaches the guest (null: it cannot; <see cref="VmGuestExec"/>).</param>
/// <param name="Display">The guest has a display served over VNC on <see cref="VmNodeFiles.VncSocket"/>.</param>
public sealed record VmNodeRecord(string Lab, string Node, string Image, IReadOnlyList<string> Argv, string? MgmtIpv4, string? MgmtIpv6,
    int Interfaces, string? ReadyLog, int? ReadyPort, int ReadyTimeoutSeconds, double Cpu, long MemoryBytes, long? Pids, bool Tcg,
    Ltb.Topology.Catalog.GuestExec? Exec = null, bool Display = false, bool SnapshotPowerOff = false);

/// <summary>
/// Where a VM node's files live: <c>VMROOT/LAB/NODE/</c> holds <c>node.json</c>, the disk overlay, the pid file, the
/// console log and the <c>stopped</c> mark; the sockets (QMP, serial console, VNC display) are in <c>/run/ltb-vm/HASH/</c>, a short
/// path because a unix socket's path is limited to 107 bytes. Destroy removes both folders.
/// </summary>
public sealed class VmNodeFiles(string root, string lab, string node)
{
    public const string SocketRoot = "/run/ltb-vm";

    public string Lab { get; } = lab;
    public string Node { get; } = node;
    public string Folder { get; } = Path.Combine(root, lab, node);
    public string SocketFolder { get; } = Path.Combine(SocketRoot,
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.Combine(root, lab, node))))[..16]);

    public string Record => Path.Combine(Folder, "node.json");
    public string Overlay => Path.Combine(Folder, "overlay.qcow2");
    /// <summary>The cloud-init NoCloud seed (a FAT volume labelled CIDATA) of a cloud-init node type's disk guest.</summary>
    public string Seed => Path.Combine(Folder, "seed.img");
    /// <summary>The node's exec key (private; <c>.pub</c> beside it), given to the guest in its seed (<see cref="VmGuestExec"/>).</summary>
    public string ExecKey => Path.Combine(Folder, "exec_key");
    /// <summary>The SHA-256 fingerprint of the guest's SSH host key, pinned at the first exec.</summary>
    public string HostKeyPin => Path.Combine(Folder, "host_key.sha256");
    /// <summary>A snapshot's RAM state waiting to be loaded at the node's next start (<see cref="VmRamState"/>; 0600, deleted once loaded or refused).</summary>
    public string IncomingRam => Path.Combine(Folder, "incoming.ram");
    /// <summary>Present while the running guest was resumed from a RAM state rather than booted: it printed its ready line before it was saved.</summary>
    public string ResumedMark => Path.Combine(Folder, "resumed");
    public string PidFile => Path.Combine(Folder, "qemu.pid");
    public string ConsoleLog => Path.Combine(Folder, "console.log");
    /// <summary>Present while the node is stopped on purpose (LTB stopped it, or it was created and not started yet).</summary>
    public string StoppedMark => Path.Combine(Folder, "stopped");
    /// <summary>The console log's length when QEMU last started: readiness reads only what this boot printed.</summary>
    public string BootOffset => Path.Combine(Folder, "boot-offset");
    public string QmpSocket => Path.Combine(SocketFolder, "qmp.sock");
    public string ConsoleSocket => Path.Combine(SocketFolder, "console.sock");
    /// <summary>QEMU's VNC server of a node with a display (RFB on a unix socket, mode 0600; no TCP port).</summary>
    public string VncSocket => Path.Combine(SocketFolder, "vnc.sock");

    /// <summary>QEMU's migration stream while a RAM state is saved or loaded (<see cref="VmRamState"/>): in the root-only socket folder.</summary>
    public string MigrationSocket => Path.Combine(SocketFolder, "migrate.sock");

    public VmNodeRecord? Load() =>
        File.Exists(Record) ? JsonSerializer.Deserialize<VmNodeRecord>(File.ReadAllText(Record), Labs.LabStateStore.Json) : null;

    public void Save(VmNodeRecord record)
    {
        Directory.CreateDirectory(Folder);
        var tmp = Record + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(record, Labs.LabStateStore.Json));
        File.Move(tmp, Record, overwrite: true);
    }

    /// <summary>The QEMU pid of the pid file, when that process still runs (not a zombie); else null.</summary>
    public long? RunningPid()
    {
        try
        {
            var pid = long.Parse(File.ReadAllText(PidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            return ProcessState.Alive(pid) && ProcessState.CommandLineContains(pid, SocketFolder) ? pid : null;
        }
        catch (Exception e) when (e is IOException or FormatException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>The last <paramref name="maxBytes"/> of the console log (what a failure shows of the guest).</summary>
    public string ConsoleTail(int maxBytes = 600)
    {
        try
        {
            using var f = new FileStream(ConsoleLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            f.Seek(Math.Max(0, f.Length - maxBytes), SeekOrigin.Begin);
            using var r = new StreamReader(f);
            return r.ReadToEnd().Replace("\r", "", StringComparison.Ordinal).Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }
}

/// <summary>Reading a process's state from /proc (a container's init, a VM's QEMU).</summary>
internal static class ProcessState
{
    /// <summary>
    /// The process exists and is neither a zombie nor dead. An init that exited stays in /proc as a zombie until the
    /// container's shim reaps it, which on a busy host takes a while.
    /// </summary>
    public static bool Alive(long pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // "pid (comm) S ...": the state follows the last ')' (the command may itself hold parentheses).
            var state = stat.AsSpan(stat.LastIndexOf(')') + 1).TrimStart();
            return state.Length > 0 && state[0] is not ('Z' or 'X' or 'x');
        }
        catch (IOException)
        {
            return false; // gone (FileNotFoundException, DirectoryNotFoundException) or vanishing while read
        }
    }

    /// <summary>Whether the process's command line holds <paramref name="text"/> (a reused pid is not our QEMU).</summary>
    public static bool CommandLineContains(long pid, string text)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains(text, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
