using System.Formats.Tar;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Ltb.Server.Snapshots;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// Issue #15 for a VM node, with LTB's tiny disk guest (vm-images/tinydisk, TCG here): a marker written to a sector of the
/// guest's disk through its serial console is in the snapshot; the VM kept running through it (its console answers);
/// the snapshot's node part is the disk (a stand-alone qcow2) and its base image's identity; exported and imported back,
/// then the lab destroyed, a new lab restored from the import reads the marker from its disk. A saved disk whose base
/// image is not this host's is refused naming the node and both checksums. With memory, the guest resumes where it was.
/// </summary>
public sealed class VmSnapshotTests(SqliteServer server) : IClassFixture<SqliteServer>
{
    /// <summary>A sector near the end of the disk, past what the FAT file system the guest boots from uses.</summary>
    private const string Sector = "S=$(( $(cat /sys/block/vda/size) - 8 ))";

    /// <summary>Writes ltb-disk-42 into <see cref="Sector"/> of the guest's disk (synced), then prints written-42.</summary>
    private const string DiskMarker = Sector + "; echo ltb-disk-$((6*7)) > /tmp/m && dd if=/tmp/m of=/dev/vda bs=512 seek=$S conv=sync,fsync && echo written-$((6*7))\n";

    [Fact]
    public async Task A_vms_disk_change_survives_snapshot_export_import_and_restore_and_the_vm_keeps_running()
    {
        TinyDiskImage.Require();
        LabTestSupport.RequireDocker();
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        await using var tiny = await TinyDiskLabAsync("vmsn", "ltb_tinyvm", DiskMarker, "written-42");
        var (owner, lab, name) = tiny;

        var snapshot = await SnapshotScenario.TakeAsync(owner, lab.Id, "disk");
        Assert.Equal(("ready", 1), (snapshot.State, snapshot.Nodes));
        // Paused for the copy only: the guest answers afterwards.
        await using (var serial = await ConsoleAsync(owner, lab.Id))
        {
            await serial.TypeAsync("echo alive-$((6*7))\n");
            await serial.WaitForAsync("alive-42");
        }
        var stored = Path.Combine(server.DataDirectory, "snapshots", snapshot.Id.ToString("N"));
        await AssertStandAloneDiskAsync(Path.Combine(stored, "nodes", "vm1.tar"));

        // Exported (the disk is a member, with its checksum; the base image named by its digest) and imported back.
        var export = await owner.GetAsync($"/api/v1/snapshots/{snapshot.Id}/export", ct);
        Assert.Equal(System.Net.HttpStatusCode.OK, export.StatusCode);
        var archive = await export.Content.ReadAsByteArrayAsync(ct);
        var manifest = ReadArchiveManifest(archive);
        Assert.Contains(manifest.Members, m => m.Path == "nodes/vm1.tar" && m.Size > 0);
        var image = Assert.Single(manifest.Images);
        Assert.Equal(("vm1", "ltb/tinydisk", $"sha256:{TinyDiskImage.Sha256Of(TinyDiskImage.Path)}"), (image.Node, image.Image, image.Digest));
        using var body = new ByteArrayContent(archive);
        body.Headers.ContentType = new MediaTypeHeaderValue(SnapshotArchive.MediaType);
        var imported = await Http.ReadAsync<SnapshotDto>(await owner.PostAsync("/api/v1/snapshots/import?name=imported", body, ct), 201);

        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();

        var watch = System.Diagnostics.Stopwatch.StartNew();
        await using (var restored = await ServerLab.RunAsync(owner, SnapshotScenario.RestoreForm(imported.Id, name + "r")))
        {
            // Without memory the guest boots from its saved disk: its console prints the ready line of a fresh boot.
            Console.WriteLine($"tiny VM (256 MiB): restore without memory (cold boot from the saved disk) {watch.Elapsed.TotalSeconds:0.0} s");
            await using (var serial = await ConsoleAsync(owner, restored.Id))
            {
                await serial.WaitForAsync("ltb-tinyvm ready: tinydisk");
                await serial.TypeAsync($"{Sector}; echo got:$(dd if=/dev/vda bs=512 skip=$S count=1 2>/dev/null | head -c 11)\n");
                await serial.WaitForAsync("got:ltb-disk-42");
            }
            await restored.DestroyAsync();
            await restored.AssertNoLeftoversAsync();
        }

        // The saved disk of another base (its recorded checksum changed) is refused before QEMU starts, naming node and checksums.
        await RewriteBaseAsync(Path.Combine(stored, "nodes", "vm1.tar"), new string('0', 64));
        await using var refused = await ServerLab.StartAsync(owner, SnapshotScenario.RestoreForm(snapshot.Id, name + "x"));
        var task = await refused.WaitAsync();
        Assert.Equal("failed", task.State);
        Assert.Contains("'vm1'", task.Error);
        Assert.Contains($"SHA-256 {new string('0', 64)}", task.Error);
        Assert.Contains("the very same base image", task.Error);
        await refused.DestroyAsync();
        await refused.AssertNoLeftoversAsync();
    }

    /// <summary>
    /// A node type with <c>snapshot-guest: poweroff</c>: a guest that ignores the power button fails the
    /// snapshot naming the node, and runs on; one that honours it is powered off for the copy and booted again (what it
    /// held only in RAM is gone, its disk change is in the snapshot and survives a restore).
    /// </summary>
    [Fact]
    public async Task A_poweroff_type_powers_the_guest_down_for_the_copy_and_boots_it_again_and_fails_cleanly_when_it_does_not_power_off()
    {
        TinyDiskImage.Require();
        LabTestSupport.RequireDocker();
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        // The built-in type as an admin changed it (hosts run the kinds they reported: a new type would not be placed), put back after.
        const string kind = "ltb_tinyvm";
        var original = (await Http.ReadAsync<NodeTypeDto>(await server.Admin.GetAsync($"/api/v1/node-types/{kind}", ct), 200)).Definition!;
        var definition = original.Replace("timeout: 60", "timeout: 30", StringComparison.Ordinal) + "\nsnapshot-guest: poweroff\n";
        await Http.EnsureAsync(await server.Admin.PatchAsJsonAsync($"/api/v1/node-types/{kind}", new UpdateNodeTypeRequest(definition), ct), 200, "the node type");
        try
        {
            await PoweredOffSnapshotAsync(kind);
        }
        finally
        {
            await Http.EnsureAsync(await server.Admin.PatchAsJsonAsync($"/api/v1/node-types/{kind}", new UpdateNodeTypeRequest(original), ct), 200, "the node type");
        }
    }

    private async Task PoweredOffSnapshotAsync(string kind)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var tiny = await TinyDiskLabAsync("vmoff", kind, DiskMarker + "echo ram > /tmp/ram-only; echo deaf-$((6*7))\n", "deaf-42");
        var (owner, lab, name) = tiny;

        // Deaf to the power button (the tiny guest's acpid does not act on it): the snapshot fails naming the node and the policy; the guest runs on, RAM and all.
        var refused = await Http.ReadAsync<SnapshotAccepted>(await owner.PostAsJsonAsync($"/api/v1/labs/{lab.Id}/snapshots",
            new CreateSnapshotRequest("deaf"), ct), 202);
        var failed = await LabTestSupport.WaitAsync(owner, refused.Task.Id);
        Assert.Equal("failed", failed.State);
        Assert.Contains("'vm1'", failed.Error);
        Assert.Contains("did not power off", failed.Error);
        await using (var serial = await ConsoleAsync(owner, lab.Id))
        {
            // The tiny guest's acpid does not act on the button here (TCG): a watcher of its input events that powers it off.
            await serial.TypeAsync("cat /tmp/ram-only && for e in /dev/input/event*; do (head -c 1 $e >/dev/null && poweroff -f) & done; echo listening-$((6*7))\n");
            await serial.WaitForAsync("listening-42");
        }

        var snapshot = await SnapshotScenario.TakeAsync(owner, lab.Id, "off");
        Assert.Equal(("ready", 1), (snapshot.State, snapshot.Nodes));
        // Powered off and booted again (ready before the snapshot task ended): what only RAM held is gone.
        await using (var serial = await ConsoleAsync(owner, lab.Id))
        {
            await serial.TypeAsync("test -e /tmp/ram-only && echo kept-$((6*7)) || echo rebooted-$((6*7))\n");
            await serial.WaitForAsync("rebooted-42");
        }
        await lab.DestroyAsync();

        await using var restored = await ServerLab.RunAsync(owner, SnapshotScenario.RestoreForm(snapshot.Id, name + "r"));
        await using (var serial = await ConsoleAsync(owner, restored.Id))
        {
            await serial.WaitForAsync("ltb-tinyvm ready: tinydisk");
            await serial.TypeAsync($"{Sector}; echo got:$(dd if=/dev/vda bs=512 skip=$S count=1 2>/dev/null | head -c 11)\n");
            await serial.WaitForAsync("got:ltb-disk-42");
        }
        await restored.DestroyAsync();
        await restored.AssertNoLeftoversAsync();
    }

    /// <summary>
    /// A snapshot with memory: what the guest held only in RAM (a file in its tmpfs) is there after the lab was destroyed
    /// and a new lab restored from the exported and imported snapshot, and the guest did not boot (the same boot id); it ran
    /// on after the save. A RAM state QEMU cannot read fails the node naming it, and leaves nothing.
    /// </summary>
    [Fact]
    public async Task A_snapshot_with_memory_resumes_the_vm_where_it_was_without_booting_it()
    {
        TinyDiskImage.Require();
        LabTestSupport.RequireDocker();
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        await using var tiny = await TinyDiskLabAsync("vmram", "ltb_tinyvm",
            "cat /proc/sys/kernel/random/boot_id > /tmp/boot-id; echo only-in-ram-$((6*7)) > /tmp/ram-only; echo kept-$((6*7))\n", "kept-42");
        var (owner, lab, name) = tiny;

        var address = await MgmtAddressAsync(owner, lab.Id);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        // Through the CLI (ltb lab snapshot create --memory), which waits for the task.
        var created = await SnapshotTests.CliAsync(server, owner, "lab", "snapshot", "create", name, "mem", "--memory");
        var saved = watch.Elapsed;
        Assert.True(created.ExitCode == 0, created.Stderr + created.Stdout);
        Assert.Contains($"snapshot '{name}/mem' stored", created.Stdout);
        var snapshot = Assert.Single((await owner.GetFromJsonAsync<Paged<SnapshotDto>>($"/api/v1/labs/{lab.Id}/snapshots", ct))!.Items);
        await using (var serial = await ConsoleAsync(owner, lab.Id))
        {
            await serial.TypeAsync("cat /tmp/ram-only; echo alive-$((6*7))\n");
            await serial.WaitForAsync("alive-42");
        }
        var stored = Path.Combine(server.DataDirectory, "snapshots", snapshot.Id.ToString("N"));
        var ram = await EntrySizeAsync(Path.Combine(stored, "nodes", "vm1.tar"), "ram.state");
        Assert.InRange(ram, 1, (256L + 64) << 20);
        var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(stored, "snapshot.json"), ct)).RootElement;
        Assert.True(manifest.GetProperty("nodes")[0].GetProperty("memory").GetBoolean());

        // Exported as format 2 (an older LTB refuses it rather than restoring the node wrongly), imported back.
        var archive = await (await owner.GetAsync($"/api/v1/snapshots/{snapshot.Id}/export", ct)).Content.ReadAsByteArrayAsync(ct);
        Assert.Equal(2, ReadArchiveManifest(archive).Format);
        using var body = new ByteArrayContent(archive);
        body.Headers.ContentType = new MediaTypeHeaderValue(SnapshotArchive.MediaType);
        var imported = await Http.ReadAsync<SnapshotDto>(await owner.PostAsync("/api/v1/snapshots/import?name=imported", body, ct), 201);
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();

        watch.Restart();
        await using (var restored = await ServerLab.RunAsync(owner, SnapshotScenario.RestoreForm(imported.Id, name + "r")))
        {
            var restoreTime = watch.Elapsed;
            await using (var serial = await ConsoleAsync(owner, restored.Id))
            {
                await serial.TypeAsync("cat /tmp/ram-only; test \"$(cat /proc/sys/kernel/random/boot_id)\" = \"$(cat /tmp/boot-id)\" && echo same-boot-$((6*7))\n");
                await serial.WaitForAsync("only-in-ram-42");
                await serial.WaitForAsync("same-boot-42");
            }
            // The guest woke holding its address: the restore asked for the snapshot's subnet and that address. Another lab
            // deployed in between may have taken the subnet (then the host allocates as for any lab): only then may it differ.
            var restoredAddress = await MgmtAddressAsync(owner, restored.Id);
            if (Subnet(restoredAddress) == Subnet(address))
            {
                Assert.Equal(address, restoredAddress);
            }
            TestContext.Current.SendDiagnosticMessage($"tiny VM (256 MiB): RAM state {ram} bytes; snapshot with memory {saved.TotalSeconds:0.0} s; restore {restoreTime.TotalSeconds:0.0} s");
            Console.WriteLine($"tiny VM (256 MiB): RAM state {ram} bytes; snapshot with memory {saved.TotalSeconds:0.0} s; restore {restoreTime.TotalSeconds:0.0} s; " +
                $"management address {address}, restored {restoredAddress}");
            await restored.DestroyAsync();
            await restored.AssertNoLeftoversAsync();
        }

        // A RAM state QEMU cannot read (its bytes damaged) fails the node naming it; nothing of the VM is left running.
        await RewriteEntryAsync(Path.Combine(stored, "nodes", "vm1.tar"), "ram.state", new byte[4096]);
        await using var refused = await ServerLab.StartAsync(owner, SnapshotScenario.RestoreForm(snapshot.Id, name + "x"));
        var task = await refused.WaitAsync();
        Assert.Equal("failed", task.State);
        Assert.Contains("'vm1'", task.Error);
        Assert.Contains("QEMU refused the snapshot's RAM state", task.Error);
        await refused.DestroyAsync();
        await refused.AssertNoLeftoversAsync();
    }

    private static async Task<string> MgmtAddressAsync(HttpClient client, Guid lab) =>
        (await client.GetFromJsonAsync<LabAccessDto>($"/api/v1/labs/{lab}/access", TestContext.Current.CancellationToken))!.Nodes.Single().MgmtIpv4!;

    private static string Subnet(string address) => address[..address.LastIndexOf('.')];

    private static async Task<long> EntrySizeAsync(string nodeArchive, string name)
    {
        await using var input = File.OpenRead(nodeArchive);
        await using var reader = new TarReader(input);
        while (await reader.GetNextEntryAsync() is { } entry)
        {
            if (entry.Name == name)
            {
                return entry.Length;
            }
        }
        return 0;
    }

    /// <summary>
    /// A new student's running lab of one tiny disk VM (vm1, of <paramref name="kind"/>), in whose serial console
    /// <paramref name="typed"/> ran once the guest was ready, until it printed <paramref name="printed"/>.
    /// </summary>
    private async Task<TinyDiskLab> TinyDiskLabAsync(string prefix, string kind, string typed, string printed)
    {
        var student = await server.CreateUserAsync(prefix);
        var owner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        var name = ServerFixture.Unique(prefix);
        var lab = await ServerLab.RunAsync(owner, $$"""
            name: {{name}}
            topology:
              nodes:
                vm1: {kind: {{kind}}, image: ltb/tinydisk}
            """);
        await using (var serial = await ConsoleAsync(owner, lab.Id))
        {
            await serial.WaitForAsync("ltb-tinyvm ready: tinydisk");
            await serial.TypeAsync(typed);
            await serial.WaitForAsync(printed);
        }
        return new TinyDiskLab(owner, lab, name);
    }

    private sealed record TinyDiskLab(HttpClient Owner, ServerLab Lab, string Name) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Lab.DisposeAsync();
            Owner.Dispose();
        }
    }

    private async Task<ExecSocketClient> ConsoleAsync(HttpClient client, Guid lab)
    {
        var console = $"/api/v1/labs/{lab}/nodes/vm1/console";
        var ticket = (await Http.ReadAsync<ConsoleTicketResponse>(await client.PostAsJsonAsync($"{console}/tickets", new ConsoleTicketRequest()), 200)).Url;
        var serial = await ExecSocketClient.OpenConsoleAsync(server.BaseAddress, ticket, "&rows=24&cols=80");
        await serial.SessionAsync();
        return serial;
    }

    /// <summary>The node part holds the base's identity and the disk, a qcow2 that names no backing file (no host path).</summary>
    private static async Task AssertStandAloneDiskAsync(string nodeArchive)
    {
        var folder = Directory.CreateTempSubdirectory("ltb-vmsnap-").FullName;
        try
        {
            await TarFile.ExtractToDirectoryAsync(nodeArchive, folder, overwriteFiles: false);
            Assert.Equal(["disk.json", "disk.qcow2"], Directory.GetFiles(folder).Select(Path.GetFileName).Order());
            var diskBase = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "disk.json"))).RootElement;
            Assert.Equal("ltb/tinydisk:latest", diskBase.GetProperty("image").GetString());
            var info = (await HostCommand.RunAsync("qemu-img", ["info", "--output=json", Path.Combine(folder, "disk.qcow2")], TimeSpan.FromMinutes(1)))
                .EnsureSuccess("qemu-img info").Stdout;
            var disk = JsonDocument.Parse(info).RootElement;
            Assert.Equal("qcow2", disk.GetProperty("format").GetString());
            Assert.False(disk.TryGetProperty("backing-filename", out _), info);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Rewrites the node part's disk.json with another base checksum (as an archive from elsewhere would have it).</summary>
    private static Task RewriteBaseAsync(string nodeArchive, string sha256) => RewriteEntryAsync(nodeArchive, "disk.json", data =>
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(data)!;
        json["sha256"] = sha256;
        return System.Text.Encoding.UTF8.GetBytes(json.ToJsonString());
    });

    private static Task RewriteEntryAsync(string nodeArchive, string name, byte[] content) => RewriteEntryAsync(nodeArchive, name, _ => content);

    /// <summary>Rewrites one entry of a node part (as a damaged or hand-made snapshot would have it).</summary>
    private static async Task RewriteEntryAsync(string nodeArchive, string name, Func<Stream, byte[]> content)
    {
        var copy = nodeArchive + ".new";
        await using (var input = File.OpenRead(nodeArchive))
        await using (var reader = new TarReader(input))
        await using (var output = File.Create(copy))
        await using (var writer = new TarWriter(output, TarEntryFormat.Pax))
        {
            while (await reader.GetNextEntryAsync() is { } entry)
            {
                if (entry.Name == name)
                {
                    entry.DataStream = new MemoryStream(content(entry.DataStream!));
                }
                await writer.WriteEntryAsync(entry);
            }
        }
        File.Move(copy, nodeArchive, overwrite: true);
    }

    private static SnapshotArchiveManifest ReadArchiveManifest(byte[] archive)
    {
        using var reader = new TarReader(new MemoryStream(archive));
        var first = reader.GetNextEntry()!;
        Assert.Equal(SnapshotArchive.ManifestEntry, first.Name);
        return JsonSerializer.Deserialize<SnapshotArchiveManifest>(first.DataStream!, SnapshotStore.Json)!;
    }
}
