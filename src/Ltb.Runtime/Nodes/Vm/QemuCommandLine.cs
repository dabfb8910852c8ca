using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Ltb.Runtime.Nodes.Vm;

/// <summary>The accelerator a VM runs with: KVM where it really works on the host, else TCG (emulation).</summary>
public enum VmAccelerator { Kvm, Tcg }

/// <summary>Everything QEMU's command line is made of, for one node.</summary>
/// <param name="DataInterfaces">Data cards eth1..ethN (the management card eth0 comes first).</param>
/// <param name="GuestArgs">KEY=VALUE words for the guest's kernel command line (direct kernel boot only).</param>
/// <param name="Seed">A cloud-init NoCloud seed to attach read-only (null: none).</param>
/// <param name="Display">A VGA card whose screen QEMU serves over VNC on the node's unix socket (<see cref="VmNodeFiles.VncSocket"/>).</param>
public sealed record QemuMachine(string Lab, string Node, VmImage Image, VmNodeFiles Files, int Cpus, long MemoryBytes, int DataInterfaces,
    VmAccelerator Accelerator, IReadOnlyList<string> GuestArgs, string NicModel = "virtio-net-pci", string? Seed = null, bool Display = false);

/// <summary>
/// Builds QEMU's command line as an argument vector (never a shell line): a daemonized QEMU, started paused (-S: the
/// driver moves it into its cgroup before the guest runs), with its QMP and serial console on unix sockets (the console
/// also logged to a file; with a display, its VNC server too), confined by QEMU's seccomp sandbox, and one tap per interface (<see cref="Tap"/>) in the
/// network namespace it is started in. Cards sit at fixed PCI slots in interface order (eth0 = management at slot 3,
/// ethN at slot 3+N), so the guest names them as the topology does.
/// </summary>
public static class QemuCommandLine
{
    public const string Binary = "qemu-system-x86_64";
    /// <summary>Slots 3..31 of the PCI bus: the management card and up to 28 data cards.</summary>
    public const int MaxDataInterfaces = 28;
    /// <summary>The TCG translation cache (QEMU's default is 1 GiB, charged to the node's memory limit).</summary>
    public const int TcgCacheMiB = 64;

    /// <summary>The tap of interface N inside the node's namespace (eth0 is the management interface).</summary>
    public static string Tap(int index) => $"tap{index}";

    /// <summary>A stable, locally administered MAC for the guest card of interface N (the management one: <see cref="Names.MgmtMac"/>).</summary>
    public static string Mac(string lab, string node, int index) =>
        index == 0 ? Names.MgmtMac(lab, node)
            : "0e:" + string.Join(':', SHA256.HashData(Encoding.UTF8.GetBytes($"{lab}\nvm\n{node}\n{index}")).Take(5)
                .Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));

    /// <summary>A value inside a QEMU option list, where a comma separates options and a doubled one is a comma.</summary>
    public static string Opt(string value) => value.Replace(",", ",,", StringComparison.Ordinal);

    /// <summary>
    /// The same command line waiting for a snapshot's RAM state (<see cref="VmRamState"/>): QEMU sets up the very same
    /// machine (the state loads only into the devices it was saved from) and takes the state by QMP <c>migrate-incoming</c>.
    /// </summary>
    public static IReadOnlyList<string> WithIncoming(IReadOnlyList<string> argv) => [.. argv, "-incoming", "defer"];

    public static IReadOnlyList<string> Build(QemuMachine m)
    {
        if (m.DataInterfaces is < 0 or > MaxDataInterfaces)
        {
            throw new ArgumentOutOfRangeException(nameof(m), $"a VM has at most {MaxDataInterfaces} data interfaces");
        }
        var f = m.Files;
        var argv = new List<string>
        {
            Binary,
            "-name", $"guest=ltb-{m.Lab}-{m.Node},debug-threads=on",
            "-machine", "pc",
            "-accel", m.Accelerator == VmAccelerator.Kvm ? "kvm" : $"tcg,tb-size={TcgCacheMiB}",
        };
        // KVM: the host's CPU. TCG: QEMU's default model (cheaper to emulate than "max", as plain qemu-system runs it).
        argv.AddRange(m.Accelerator == VmAccelerator.Kvm ? ["-cpu", "host"] : []);
        argv.AddRange(new[]
        {
            "-smp", m.Cpus.ToString(CultureInfo.InvariantCulture),
            "-m", $"{Math.Max(64, m.MemoryBytes / (1024 * 1024))}M",
            "-nodefaults", "-no-user-config", "-display", "none",
            // QEMU's seccomp filter: no obsolete system calls, no changes to scheduling or affinity. Not spawn=deny nor
            // elevateprivileges=deny: -daemonize forks and calls setsid after the filter is in place, and they refuse that.
            "-sandbox", "on,obsolete=deny,resourcecontrol=deny",
            "-daemonize", "-pidfile", f.PidFile,
            "-S",
            "-qmp", $"unix:{Opt(f.QmpSocket)},server=on,wait=off",
            "-chardev", $"socket,id=console,path={Opt(f.ConsoleSocket)},server=on,wait=off,logfile={Opt(f.ConsoleLog)},logappend=on",
            "-serial", "chardev:console",
        });
        if (m.Display)
        {
            // -nodefaults leaves the machine without a graphics card: VGA at slot 2 (before the cards at 3..31), its
            // screen served over VNC on a unix socket only (never a TCP port; the node's socket folder is 0700, the
            // socket 0600), which the API's display WebSocket reaches through the node's agent.
            argv.AddRange(["-device", "VGA,addr=0x2", "-vnc", $"unix:{Opt(f.VncSocket)}"]);
        }
        if (m.Image.DirectKernelBoot)
        {
            argv.AddRange(["-kernel", m.Image.Kernel!]);
            if (m.Image.Initrd is { } initrd)
            {
                argv.AddRange(["-initrd", initrd]);
            }
            argv.AddRange(["-append", string.Join(' ', new[] { m.Image.KernelArgs }.Concat(m.GuestArgs).Where(a => a.Length > 0))]);
        }
        else
        {
            argv.AddRange(["-drive", $"file={Opt(f.Overlay)},format=qcow2,if=virtio,cache=writeback,discard=unmap"]);
        }
        if (m.Seed is { } seed)
        {
            argv.AddRange(["-drive", $"file={Opt(seed)},format=raw,if=virtio,readonly=on"]);
        }
        for (var i = 0; i <= m.DataInterfaces; i++)
        {
            argv.AddRange(["-netdev", $"tap,id=net{i},ifname={Tap(i)},script=no,downscript=no"]);
            argv.AddRange(["-device", $"{m.NicModel},netdev=net{i},mac={Mac(m.Lab, m.Node, i)},addr=0x{3 + i:x}"]);
        }
        return argv;
    }
}
