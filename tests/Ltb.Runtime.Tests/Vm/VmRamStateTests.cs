using System.Diagnostics;
using Ltb.Runtime.Nodes.Vm;
using Ltb.Runtime.Status;
using Ltb.Runtime.Tests.Support;
using Ltb.Testing;

namespace Ltb.Runtime.Tests.Vm;

/// <summary>
/// A VM's RAM state (issue #15): its bounds, and QEMU's real migration stream through the node's socket: a state saved
/// from one QEMU loads into a second QEMU started with the same machine and <c>-incoming defer</c>; a damaged one is refused.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class VmRamStateTests
{
    private static readonly VmNodeFiles Node = new("/var/lib/ltb/vms", "lab1", "vm1");

    [Fact]
    public void A_state_may_take_the_guests_ram_and_a_margin_and_no_more()
    {
        Assert.Equal((256L + 64) << 20, VmRamState.Limit(256L << 20));
        Assert.Equal((4L << 30) + (512L << 20), VmRamState.Limit(4L << 30));
        Assert.Null(VmRamState.SizeProblem(320L << 20, 256L << 20));
        var problem = VmRamState.SizeProblem((320L << 20) + 1, 256L << 20);
        Assert.Equal("its RAM state is larger than the 320 MiB a guest with 256 MiB of RAM may take", problem);
    }

    [Fact]
    public async Task A_copy_beyond_its_limit_is_refused_naming_the_node()
    {
        using var output = new MemoryStream();
        await VmRamState.CopyBoundedAsync(new MemoryStream(new byte[3 << 20]), output, 3 << 20, Node, TestLabs.Ct);
        Assert.Equal(3 << 20, output.Length);

        var e = await Assert.ThrowsAsync<LabRuntimeException>(() =>
            VmRamState.CopyBoundedAsync(new MemoryStream(new byte[(3 << 20) + 1]), new MemoryStream(), 3 << 20, Node, TestLabs.Ct));
        Assert.Equal(("lab1", "vm1"), (e.Lab, e.Node));
        Assert.Contains("larger than the 3 MiB it may take", e.Message);
    }

    [Fact]
    public void Waiting_for_a_state_is_the_same_command_line_and_incoming_defer()
    {
        var image = new VmImage("debian:12", "/img", "/img/disk.qcow2", "qcow2", null, null, "");
        var argv = QemuCommandLine.Build(new QemuMachine("lab1", "vm1", image, Node, 2, 256L << 20, 3, VmAccelerator.Tcg, []));

        var incoming = QemuCommandLine.WithIncoming(argv);

        // The very same machine (devices, cards and their MACs, memory, cpus) in the same order: a state loads only into it.
        Assert.Equal(argv, incoming.Take(argv.Count));
        Assert.Equal(["-incoming", "defer"], incoming.Skip(argv.Count));
    }

    [Fact]
    public async Task A_state_saved_from_a_paused_qemu_loads_into_a_second_one_and_a_damaged_one_is_refused()
    {
        Prerequisite.Require(File.Exists("/usr/bin/qemu-system-x86_64"), "QEMU (apt-get install qemu-system-x86 qemu-utils)");
        var root = Directory.CreateTempSubdirectory("ltb-ram-").FullName;
        var source = new VmNodeFiles(root, "lab1", "src");
        var target = new VmNodeFiles(root, "lab1", "dst");
        try
        {
            await using var first = await Qemu.StartAsync(source, incoming: false);
            var state = Path.Combine(source.Folder, "saved.ram");
            // Running, then paused (the snapshot's stop): the loaded machine is paused as the saved one was.
            await first.Qmp.ExecuteAsync("cont", null, TestLabs.Ct);
            await first.Qmp.ExecuteAsync("stop", null, TestLabs.Ct);
            var watch = Stopwatch.StartNew();
            await VmRamState.SaveAsync(first.Qmp, source, state, VmRamState.Limit(64L << 20), TimeSpan.FromMinutes(2), TestLabs.Ct);
            var saved = watch.Elapsed;
            Assert.Equal("postmigrate", await first.StatusAsync());
            // The guest may run again from postmigrate (the snapshot's cont).
            await first.Qmp.ExecuteAsync("cont", null, TestLabs.Ct);
            Assert.Equal("running", await first.StatusAsync());
            var size = new FileInfo(state).Length;
            Assert.InRange(size, 1, VmRamState.Limit(64L << 20));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(state));
            Assert.False(File.Exists(source.MigrationSocket));

            await using (var second = await Qemu.StartAsync(target, incoming: true))
            {
                watch.Restart();
                await VmRamState.LoadAsync(second.Qmp, target, state, TimeSpan.FromMinutes(2), TestLabs.Ct);
                Console.WriteLine($"64 MiB guest: RAM state {size} bytes, saved in {saved.TotalMilliseconds:0} ms, loaded in {watch.ElapsedMilliseconds} ms");
                Assert.Equal("paused", await second.StatusAsync());
            }

            // A state QEMU cannot read: refused naming the node (QEMU ends an incoming migration that fails).
            await File.WriteAllBytesAsync(state, new byte[4096], TestLabs.Ct);
            await using var third = await Qemu.StartAsync(target, incoming: true);
            var e = await Assert.ThrowsAsync<LabRuntimeException>(() => VmRamState.LoadAsync(third.Qmp, target, state, TimeSpan.FromMinutes(1), TestLabs.Ct));
            Assert.Equal("dst", e.Node);
            Assert.Contains("its RAM state could not be loaded", e.Message);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>A QEMU without a guest (no disk, no kernel: the machine and its RAM only), its QMP on the node's socket.</summary>
    private sealed class Qemu : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly VmNodeFiles _files;

        private Qemu(Process process, QmpClient qmp, VmNodeFiles files) => (_process, Qmp, _files) = (process, qmp, files);

        public QmpClient Qmp { get; }

        public static async Task<Qemu> StartAsync(VmNodeFiles files, bool incoming)
        {
            Directory.CreateDirectory(files.Folder);
            Directory.CreateDirectory(files.SocketFolder);
            File.SetUnixFileMode(files.SocketFolder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            IReadOnlyList<string> argv = [QemuCommandLine.Binary, "-machine", "pc", "-accel", "tcg", "-m", "64M", "-nodefaults", "-display", "none", "-S",
                "-sandbox", "on,obsolete=deny,resourcecontrol=deny", "-qmp", $"unix:{files.QmpSocket},server=on,wait=off"];
            argv = incoming ? QemuCommandLine.WithIncoming(argv) : argv;
            var start = new ProcessStartInfo(argv[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
            argv.Skip(1).ToList().ForEach(start.ArgumentList.Add);
            var process = Process.Start(start)!;
            var until = DateTime.UtcNow.AddSeconds(30);
            while (!File.Exists(files.QmpSocket) && DateTime.UtcNow < until && !process.HasExited)
            {
                await Task.Delay(50, TestLabs.Ct);
            }
            return new Qemu(process, await QmpClient.ConnectAsync(files.QmpSocket, TestLabs.Ct), files);
        }

        public async Task<string?> StatusAsync() => (await Qmp.ExecuteAsync("query-status", null, TestLabs.Ct))?["status"]?.GetValue<string>();

        public async ValueTask DisposeAsync()
        {
            await Qmp.DisposeAsync();
            if (!_process.HasExited)
            {
                _process.Kill();
            }
            await _process.WaitForExitAsync(TestLabs.Ct);
            _process.Dispose();
            Directory.Delete(_files.SocketFolder, recursive: true);
        }
    }
}
