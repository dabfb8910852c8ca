using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Docker.DotNet.Models;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Labs;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Nodes.Vm;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Planning;
using Ltb.Runtime.Status;
using Ltb.Runtime.Tests.Support;
using Ltb.Testing;
using Ltb.Topology;

namespace Ltb.Runtime.Tests.Vm;

/// <summary>
/// Issue #14, VM disks taken from vrnetlab container images: images made here offline (<c>docker import</c> of a tar,
/// as FROM scratch) hold LTB's tiny disk guest (vm-images/tinydisk) as <c>/tinydisk-1.0.qcow2</c> beside decoys. A lab
/// whose VM nodes name such an image boots them from the qcow2 inside, extracted once into the host's cache (a second
/// node and a second lab use it; concurrent requests extract once), the cached base left as it was; images with no
/// qcow2, two of them, or one naming a backing file on the host are refused naming the image; a missing image says how
/// to get it. Nothing is left behind: no lab, no temporary container, no half-written cache.
/// </summary>
public sealed class VrnetlabDiskTests
{
    private const string TinyDisk = "/var/lib/ltb/vm-images/ltb/tinydisk/latest/disk.qcow2";
    private static readonly string Cache = new RuntimeOptions { StateDirectory = TestLabs.StateDirectory }.EffectiveVmDiskCacheDirectory;

    private static void RequireTinyDisk()
    {
        Prerequisite.Require(File.Exists("/usr/bin/qemu-system-x86_64") && File.Exists("/usr/bin/qemu-img"), "QEMU (apt-get install qemu-system-x86 qemu-utils)");
        Prerequisite.Require(File.Exists(TinyDisk), $"the tiny disk VM image ({TinyDisk}; scripts/build-vm-images.sh builds it)");
    }

    private static LabPlan Plan(string lab, string image, params string[] nodes)
    {
        var yaml = new StringBuilder("name: vrdisk\ntopology:\n  nodes:\n");
        foreach (var node in nodes)
        {
            yaml.Append($"    {node}: {{kind: ltb_tinyvm, image: \"{image}\"}}\n");
        }
        var loaded = TopologyLoader.LoadText(yaml.ToString(), Path.Combine(Path.GetTempPath(), "vrdisk.clab.yml"),
            new LoadOptions { Trusted = true, Environment = new Dictionary<string, string>() });
        Assert.False(loaded.HasErrors, string.Join("\n", loaded.Diagnostics));
        var planned = LabPlanner.Plan(loaded.Lab!, new PlanningOptions { LabName = lab });
        return planned.Plan ?? throw new InvalidOperationException(string.Join('\n', planned.Errors));
    }

    [Fact]
    public async Task Vms_boot_the_qcow2_inside_a_vrnetlab_image_extracted_once_into_the_cache_for_two_nodes_and_two_labs()
    {
        RequireTinyDisk();
        var image = $"ltb-test/vr-tiny-{Guid.NewGuid():N}"[..30] + ":1.0";
        await using var lab = await LabUnderTest.RequireAsync(Plan(TestLabs.UniqueName("vrd"), image, "vm1", "vm2"));
        await using var images = new TestImages(lab.Engine);
        var id = await images.ImportAsync(image, ("tinydisk-1.0.qcow2", TinyDisk), ("README.md", "decoy"), ("vrnetlab/launch.py", "decoy"),
            ("usr/share/qemu/other.qcow2", "not a disk LTB looks at: deep in the tree"));
        var disks = new VrnetlabDisks(lab.Engine, Cache, lab.Net);
        var cached = Path.Combine(disks.Folder(id), VrnetlabDisks.DiskFile);
        try
        {
            var status = await lab.DeployAsync();
            Assert.Equal(NodeState.Running, status.Node("vm1").State);
            Assert.Equal(NodeState.Running, status.Node("vm2").State);
            Assert.Single(lab.Events, e => e.Message.StartsWith($"extracting the VM disk of image {image}", StringComparison.Ordinal));
            Assert.Contains(lab.Events, e => e.Message.Contains($"extracted from /tinydisk-1.0.qcow2", StringComparison.Ordinal));
            Assert.Contains(lab.Events, e => e.Message.StartsWith($"VM disk of image {image}", StringComparison.Ordinal) && e.Message.Contains("in this host's cache", StringComparison.Ordinal));
            // The cache holds the very disk (by content), read-only, with where it came from; each node's overlay stands on it.
            Assert.Equal(Sha256(TinyDisk), Sha256(cached));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead, OperatingSystem.IsWindows() ? 0 : File.GetUnixFileMode(cached));
            using (var source = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(disks.Folder(id), VrnetlabDisks.SourceFile), TestLabs.Ct)))
            {
                Assert.Equal("/tinydisk-1.0.qcow2", source.RootElement.GetProperty("path").GetString());
            }
            var overlay = new VmNodeFiles(new RuntimeOptions { StateDirectory = TestLabs.StateDirectory }.EffectiveVmDirectory, lab.Name, "vm1").Overlay;
            var info = await lab.Net.RunAsync("qemu-img", ["info", "--output=json", "-U", overlay], null, TimeSpan.FromSeconds(30), TestLabs.Ct);
            Assert.Equal(cached, JsonDocument.Parse(info.Stdout).RootElement.GetProperty("backing-filename").GetString());
            var mark = await IdentityAsync(cached);

            // The guests booted from it: the disk's own kernel command line names them.
            foreach (var node in new[] { "vm1", "vm2" })
            {
                await using var console = await lab.Runtime.OpenConsoleAsync(lab.Name, node, new TerminalSize(24, 80), TestLabs.Ct);
                await VmLabTests.ReadUntilAsync(console, "ltb-tinyvm ready: tinydisk", TimeSpan.FromSeconds(60));
                await console.WriteAsync(Encoding.ASCII.GetBytes($"echo {node}-wrote-$((6*7)) > /root/mark; cat /root/mark\n"), TestLabs.Ct);
                await VmLabTests.ReadUntilAsync(console, $"{node}-wrote-42", TimeSpan.FromSeconds(60));
            }
            await lab.DestroyAsync();
            await lab.AssertNoLeftoversAsync();

            // A second lab: the cache serves it, nothing is extracted again; the guests' writes went to their overlays.
            await using (var second = await LabUnderTest.CreateAsync(Plan(TestLabs.UniqueName("vrd"), image, "vm1")))
            {
                var again = await second.DeployAsync();
                Assert.Equal(NodeState.Running, again.Node("vm1").State);
                Assert.DoesNotContain(second.Events, e => e.Message.StartsWith("extracting the VM disk", StringComparison.Ordinal));
                Assert.Contains(second.Events, e => e.Message.Contains("in this host's cache", StringComparison.Ordinal));
                await second.DestroyAsync();
                await second.AssertNoLeftoversAsync();
            }
            Assert.Equal(mark, await IdentityAsync(cached));
            Assert.Equal(Sha256(TinyDisk), Sha256(cached));
            await AssertNoExtractionLeftoversAsync(lab.Engine, image);
        }
        finally
        {
            DeleteCache(disks, id);
        }
    }

    [Fact]
    public async Task Concurrent_requests_for_one_image_extract_its_disk_once()
    {
        RequireTinyDisk();
        Prerequisite.Require(await TestLabs.MissingAsync(LinkBackend.Veth) is null, await TestLabs.MissingAsync(LinkBackend.Veth) ?? "");
        using var engine = DockerEngine.Connect();
        await using var images = new TestImages(engine);
        var image = $"ltb-test/vr-conc-{Guid.NewGuid():N}"[..30] + ":1";
        var id = await images.ImportAsync(image, ("vrnetlab/tinydisk.qcow2", TinyDisk));
        using var root = new TempFolder();
        var disks = new VrnetlabDisks(engine, root.Path, new HostNetwork());
        var reports = new List<string>();
        void Report(string m)
        {
            lock (reports)
            {
                reports.Add(m);
            }
        }
        var got = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => disks.GetAsync(image, id, Report, TestLabs.Ct)));
        Assert.Single(reports, r => r.StartsWith("extracting", StringComparison.Ordinal));
        Assert.Single(got.Select(g => g.Disk).Distinct());
        Assert.Contains("extracted from /vrnetlab/tinydisk.qcow2", string.Join("\n", reports), StringComparison.Ordinal);
        Assert.Equal([Path.GetFileName(disks.Folder(id))], Directory.GetFileSystemEntries(root.Path).Select(Path.GetFileName));
        await AssertNoExtractionLeftoversAsync(engine, image);
    }

    [Fact]
    public async Task Images_with_no_qcow2_two_of_them_or_a_backing_file_are_refused_naming_the_image_and_a_missing_image_says_how_to_get_it()
    {
        RequireTinyDisk();
        var unique = Guid.NewGuid().ToString("N")[..10];
        using var work = new TempFolder();
        var backed = Path.Combine(work.Path, "evil.qcow2");
        await using var probe = await LabUnderTest.RequireAsync(Plan(TestLabs.UniqueName("vrx"), "ltb-test/none:1", "vm1"));
        var made = await probe.Net.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/passwd", "-u", backed, "16M"], null,
            TimeSpan.FromSeconds(30), TestLabs.Ct);
        Assert.True(made.Succeeded, made.Stderr);
        await using var images = new TestImages(probe.Engine);
        var none = $"ltb-test/vr-none-{unique}:1";
        var two = $"ltb-test/vr-two-{unique}:1";
        var evil = $"ltb-test/vr-evil-{unique}:1";
        var ids = new[]
        {
            await images.ImportAsync(none, ("README.md", "no disk here"), ("opt/disk.qcow2", "too deep to count")),
            await images.ImportAsync(two, ("a.qcow2", TinyDisk), ("vrnetlab/b.qcow2", TinyDisk)),
            await images.ImportAsync(evil, ("evil.qcow2", backed)),
        };
        var cases = new (string Image, string[] Says)[]
        {
            (none, [$"image {none} holds no VM disk", "no *.qcow2 file in / or /vrnetlab/"]),
            (two, [$"image {two} holds 2 VM disks (/a.qcow2, /vrnetlab/b.qcow2)"]),
            (evil, [$"/evil.qcow2 of image {evil} is refused", "backing file"]),
            ($"ltb-test/vr-absent-{unique}:1", [$"VM image 'ltb-test/vr-absent-{unique}:1' is neither in the VM image library nor a container image on this host",
                $"docker pull ltb-test/vr-absent-{unique}:1"]),
        };
        var disks = new VrnetlabDisks(probe.Engine, Cache, probe.Net);
        foreach (var (image, says) in cases)
        {
            await using var lab = await LabUnderTest.CreateAsync(Plan(TestLabs.UniqueName("vrx"), image, "vm1"));
            var e = await Assert.ThrowsAsync<LabRuntimeException>(() => lab.DeployAsync(new DeployOptions { OnFailure = FailurePolicy.Rollback }));
            Assert.Equal("vm1", e.Node);
            foreach (var text in says)
            {
                Assert.Contains(text, e.Message, StringComparison.Ordinal);
            }
            await lab.AssertNoLeftoversAsync();
            await AssertNoExtractionLeftoversAsync(probe.Engine, image);
        }
        Assert.All(ids, id => Assert.False(Directory.Exists(disks.Folder(id)), $"a refused image's disk is in the cache ({disks.Folder(id)})"));
        Assert.Empty(Directory.Exists(Cache) ? Directory.GetDirectories(Cache, ".extract-*") : []);
    }

    [Theory]
    [InlineData("./sros-vm-22.7.R1.qcow2", "/sros-vm-22.7.R1.qcow2")]
    [InlineData("/vEOS-lab-4.28.qcow2", "/vEOS-lab-4.28.qcow2")]
    [InlineData("vrnetlab/disk.QCOW2", "/vrnetlab/disk.QCOW2")]
    [InlineData("usr/share/disk.qcow2", null)]
    [InlineData("vrnetlab/deeper/disk.qcow2", null)]
    [InlineData("launch.py", null)]
    public void Only_qcow2_files_in_the_root_or_in_vrnetlab_count(string entry, string? path) => Assert.Equal(path, VrnetlabDisks.DiskPath(entry));

    [Theory]
    [InlineData("vrnetlab/vr-sros:22.7.R1", true)]
    [InlineData("registry.example.com:5000/vrnetlab/vr-veos:4.28.0F", true)]
    [InlineData("ghcr.io/x/vr-csr@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("/var/lib/disks/disk.qcow2", false)]
    [InlineData("../etc/passwd", false)]
    [InlineData("Vrnetlab/UPPER", false)]
    public void A_vm_image_may_be_a_container_image_reference_never_a_path(string reference, bool valid) =>
        Assert.Equal(valid, VrnetlabDisks.IsImageReference(reference));

    private static async Task AssertNoExtractionLeftoversAsync(DockerEngine engine, string image)
    {
        var left = await engine.Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{VrnetlabDisks.ExtractLabel}={image}"] = true } },
        }, TestLabs.Ct);
        Assert.Empty(left);
    }

    private static void DeleteCache(VrnetlabDisks disks, string id)
    {
        if (Directory.Exists(disks.Folder(id)))
        {
            Directory.Delete(disks.Folder(id), recursive: true);
        }
    }

    private static string Sha256(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }

    /// <summary>The file's inode and modification time: the same file, not one written again.</summary>
    private static async Task<string> IdentityAsync(string path)
    {
        var stat = await new HostNetwork().RunAsync("stat", ["-c", "%i %y", path], null, TimeSpan.FromSeconds(10), TestLabs.Ct);
        Assert.True(stat.Succeeded, stat.Stderr);
        return stat.Stdout.Trim();
    }

    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("ltb-vrdisk-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    /// <summary>Container images made here (<c>docker import</c> of a tar: a FROM scratch image), removed at the end.</summary>
    private sealed class TestImages(DockerEngine engine) : IAsyncDisposable
    {
        private readonly List<string> _made = [];

        /// <summary>
        /// Imports an image whose files are (path inside, source): a source that is an existing file is copied, any
        /// other text is the file's content. Returns the image's ID.
        /// </summary>
        public async Task<string> ImportAsync(string reference, params (string Path, string Source)[] files)
        {
            var tar = Path.Combine(Path.GetTempPath(), $"ltb-vrdisk-{Guid.NewGuid():N}.tar");
            try
            {
                await using (var output = File.Create(tar))
                await using (var writer = new TarWriter(output, TarEntryFormat.Pax))
                {
                    foreach (var folder in files.Select(f => Path.GetDirectoryName(f.Path)).OfType<string>().Where(d => d.Length > 0).Distinct())
                    {
                        await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, folder + "/") { Mode = (UnixFileMode)0b111_101_101 }, TestLabs.Ct);
                    }
                    foreach (var (path, source) in files)
                    {
                        await using Stream data = File.Exists(source) ? File.OpenRead(source) : new MemoryStream(Encoding.UTF8.GetBytes(source));
                        await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, path) { DataStream = data, Mode = (UnixFileMode)0b110_100_100 }, TestLabs.Ct);
                    }
                }
                var colon = reference.LastIndexOf(':');
                await using (var input = File.OpenRead(tar))
                {
                    await engine.Client.Images.CreateImageAsync(new ImagesCreateParameters { FromSrc = "-", Repo = reference[..colon], Tag = reference[(colon + 1)..] },
                        input, null, new Progress<JSONMessage>(), TestLabs.Ct);
                }
                _made.Add(reference);
                return (await engine.Client.Images.InspectImageAsync(reference, TestLabs.Ct)).ID;
            }
            finally
            {
                File.Delete(tar);
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var image in _made)
            {
                try
                {
                    await engine.Client.Images.DeleteImageAsync(image, new ImageDeleteParameters { Force = true }, CancellationToken.None);
                }
                catch (global::Docker.DotNet.DockerApiException)
                {
                    // gone already
                }
            }
        }
    }
}
