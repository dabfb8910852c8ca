using Ltb.Runtime.Nodes;
using Ltb.Runtime.Nodes.Vm;

namespace Ltb.Runtime.Tests.Vm;

/// <summary>QEMU's command line as built from a node: an argument vector (no shell), every part the driver relies on.</summary>
public sealed class QemuCommandLineTests
{
    private static readonly VmNodeFiles Files = new("/var/lib/ltb/vms", "lab1", "vm1");

    private static QemuMachine Machine(VmImage image, VmAccelerator accel = VmAccelerator.Tcg, int data = 2) =>
        new("lab1", "vm1", image, Files, 2, 256L << 20, data, accel, ["LTB_HOSTNAME=vm1", "LTB_MGMT_IPV4=172.20.0.2/24", "IP_eth1=10.0.0.2/24"]);

    private static readonly VmImage Kernel = new("ltb/tinyvm", "/img", null, null, "/img/kernel", "/img/initrd", "console=ttyS0 panic=-1");
    private static readonly VmImage Disk = new("debian:12", "/img", "/img/disk.qcow2", "qcow2", null, null, "");

    private static string After(IReadOnlyList<string> argv, string option) => argv[argv.ToList().IndexOf(option) + 1];

    private static List<string> All(IReadOnlyList<string> argv, string option) =>
        argv.Select((a, i) => (a, i)).Where(x => x.a == option).Select(x => argv[x.i + 1]).ToList();

    [Fact]
    public void A_direct_kernel_boot_passes_kernel_initrd_and_the_nodes_words_as_one_argument_each()
    {
        var argv = QemuCommandLine.Build(Machine(Kernel));

        Assert.Equal("qemu-system-x86_64", argv[0]);
        Assert.Equal("/img/kernel", After(argv, "-kernel"));
        Assert.Equal("/img/initrd", After(argv, "-initrd"));
        // One argument, not split by any shell: the guest sees exactly these words.
        Assert.Equal("console=ttyS0 panic=-1 LTB_HOSTNAME=vm1 LTB_MGMT_IPV4=172.20.0.2/24 IP_eth1=10.0.0.2/24", After(argv, "-append"));
        Assert.DoesNotContain("-drive", argv);
    }

    [Fact]
    public void A_disk_image_boots_from_the_nodes_overlay_never_the_base()
    {
        var argv = QemuCommandLine.Build(Machine(Disk));

        Assert.Equal("file=/var/lib/ltb/vms/lab1/vm1/overlay.qcow2,format=qcow2,if=virtio,cache=writeback,discard=unmap", After(argv, "-drive"));
        Assert.DoesNotContain(argv, a => a.Contains("/img/disk.qcow2", StringComparison.Ordinal));
        Assert.DoesNotContain("-kernel", argv);
    }

    [Fact]
    public void It_runs_daemonized_paused_sandboxed_with_qmp_and_a_logged_serial_console_on_the_nodes_sockets()
    {
        var argv = QemuCommandLine.Build(Machine(Kernel));

        Assert.Contains("-daemonize", argv);
        Assert.Contains("-S", argv);
        Assert.Contains("-nodefaults", argv);
        Assert.Equal("none", After(argv, "-display"));
        Assert.Equal("on,obsolete=deny,resourcecontrol=deny", After(argv, "-sandbox"));
        Assert.Equal(Files.PidFile, After(argv, "-pidfile"));
        Assert.Equal($"unix:{Files.QmpSocket},server=on,wait=off", After(argv, "-qmp"));
        Assert.Equal($"socket,id=console,path={Files.ConsoleSocket},server=on,wait=off,logfile={Files.ConsoleLog},logappend=on", After(argv, "-chardev"));
        Assert.Equal("chardev:console", After(argv, "-serial"));
        Assert.StartsWith("/run/ltb-vm/", Files.QmpSocket, StringComparison.Ordinal);
        Assert.True(Files.ConsoleSocket.Length < 108, "a unix socket path must fit in sun_path");
        // No VNC, no monitor on a TCP port: nothing listens on the network.
        Assert.DoesNotContain(argv, a => a.Contains("vnc", StringComparison.OrdinalIgnoreCase) || a.Contains("tcp:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_display_adds_a_vga_card_before_the_nics_and_vnc_on_the_nodes_unix_socket_only()
    {
        var argv = QemuCommandLine.Build(Machine(Kernel) with { Display = true });

        Assert.Equal("VGA,addr=0x2", All(argv, "-device")[0]);
        Assert.Equal($"unix:{Files.VncSocket}", After(argv, "-vnc"));
        Assert.Equal(Files.SocketFolder, Path.GetDirectoryName(Files.VncSocket));
        Assert.True(Files.VncSocket.Length < 108, "a unix socket path must fit in sun_path");
        Assert.Equal("none", After(argv, "-display"));
        Assert.DoesNotContain(argv, a => a.Contains("tcp:", StringComparison.Ordinal) || a.Contains("0.0.0.0", StringComparison.Ordinal));
        // The cards keep their slots: the guest names its interfaces as without a display.
        Assert.EndsWith(",addr=0x3", All(argv, "-device")[1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(VmAccelerator.Tcg, "tcg,tb-size=64", null)]
    [InlineData(VmAccelerator.Kvm, "kvm", "host")]
    public void Cpus_memory_and_the_accelerator_come_from_the_plan_and_the_probe(VmAccelerator accel, string accelArg, string? cpu)
    {
        var argv = QemuCommandLine.Build(Machine(Kernel, accel));

        Assert.Equal(accelArg, After(argv, "-accel"));
        Assert.Equal(cpu, argv.Contains("-cpu") ? After(argv, "-cpu") : null);
        Assert.Equal("2", After(argv, "-smp"));
        Assert.Equal("256M", After(argv, "-m"));
    }

    [Fact]
    public void Each_interface_gets_a_tap_and_a_card_at_its_own_pci_slot_with_a_stable_mac()
    {
        var argv = QemuCommandLine.Build(Machine(Kernel, data: 2));

        Assert.Equal(["tap,id=net0,ifname=tap0,script=no,downscript=no", "tap,id=net1,ifname=tap1,script=no,downscript=no",
            "tap,id=net2,ifname=tap2,script=no,downscript=no"], All(argv, "-netdev"));
        var cards = All(argv, "-device");
        Assert.Equal($"virtio-net-pci,netdev=net0,mac={Names.MgmtMac("lab1", "vm1")},addr=0x3", cards[0]);
        Assert.EndsWith(",addr=0x5", cards[2], StringComparison.Ordinal);
        Assert.Equal(QemuCommandLine.Mac("lab1", "vm1", 2), QemuCommandLine.Mac("lab1", "vm1", 2));
        Assert.NotEqual(QemuCommandLine.Mac("lab1", "vm1", 1), QemuCommandLine.Mac("lab1", "vm1", 2));
        Assert.Matches("^0e(:[0-9a-f]{2}){5}$", QemuCommandLine.Mac("lab1", "vm1", 1));
    }

    [Fact]
    public void A_comma_in_a_path_is_doubled_so_it_cannot_add_an_option()
    {
        var files = new VmNodeFiles("/srv/a,b", "lab1", "vm1");
        var argv = QemuCommandLine.Build(Machine(Disk) with { Files = files });

        Assert.StartsWith("file=/srv/a,,b/lab1/vm1/overlay.qcow2,format=qcow2", After(argv, "-drive"), StringComparison.Ordinal);
    }

    [Fact]
    public void More_cards_than_the_bus_holds_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => QemuCommandLine.Build(Machine(Kernel, data: QemuCommandLine.MaxDataInterfaces + 1)));
    }
}
