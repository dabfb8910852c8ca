using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Ltb.Server.Hosting;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Labs;

/// <summary>LTB's tiny disk VM image (vm-images/tinydisk), a real bootable qcow2 the library tests upload.</summary>
public static class TinyDiskImage
{
    public const string Path = "/var/lib/ltb/vm-images/ltb/tinydisk/latest/disk.qcow2";

    public static void Require()
    {
        Prerequisite.Require(File.Exists("/usr/bin/qemu-system-x86_64") && File.Exists("/usr/bin/qemu-img"), "QEMU (apt-get install qemu-system-x86 qemu-utils)");
        Prerequisite.Require(File.Exists(Path), $"the tiny disk VM image ({Path}; scripts/build-vm-images.sh builds it)");
    }

    public static string Sha256Of(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }
}

/// <summary>A server whose VM images may have at most 20 MiB (the tiny disk has 16), so that the limit is tested cheaply.</summary>
public sealed class VmImageServer : SqliteServer
{
    public const long Limit = 20L << 20;

    protected override async Task ConfigureAsync(LtbServerOptions options)
    {
        await base.ConfigureAsync(options);
        options.VmImageMaxBytes = Limit;
    }
}

/// <summary>
/// Issue #14, the VM image library on the controller: an admin uploads LTB's tiny disk image (a real bootable qcow2,
/// vm-images/tinydisk) streamed with its SHA-256; damaged, oversized, disguised and backing-file disks are refused and
/// leave nothing; a student's lab boots a VM from the uploaded image on the local host (its own overlay: the library's
/// disk stays as uploaded) and its console works; an image comes from a path on the host too; delete removes the file.
/// </summary>
public sealed class VmImageLibraryTests(VmImageServer server) : IClassFixture<VmImageServer>
{
    private const string TinyDisk = TinyDiskImage.Path;

    private static void RequireTinyDisk() => TinyDiskImage.Require();

    private static string Sha256Of(string path) => TinyDiskImage.Sha256Of(path);

    private string Library => Path.Combine(server.DataDirectory, "vm-images");

    private static Task<HttpResponseMessage> UploadAsync(HttpClient client, string name, string version, string sha256, HttpContent body, string type = "ltb_tinyvm") =>
        client.PostAsync($"/api/v1/vm-images?name={name}&version={version}&nodeType={type}&sha256={sha256}", body);

    [Fact]
    public async Task An_uploaded_disk_boots_a_students_vm_and_bad_disks_are_refused_without_leftovers()
    {
        RequireTinyDisk();
        LabTestSupport.RequireDocker();
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var name = ServerFixture.Unique("vmi");
        var sha = Sha256Of(TinyDisk);

        // Refusals first: each leaves the library as it was (no folder, no temporary file).
        var damaged = await UploadAsync(server.Admin, name, "1", new string('0', 64), new StreamContent(File.OpenRead(TinyDisk)));
        Assert.Equal(HttpStatusCode.BadRequest, damaged.StatusCode);
        Assert.Contains("SHA-256", await damaged.Content.ReadAsStringAsync(ct));
        var tooBig = await UploadAsync(server.Admin, name, "1", new string('0', 64), new StreamContent(new Zeros(VmImageServer.Limit + (1 << 20))));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
        var unknownType = await UploadAsync(server.Admin, name, "1", sha, new StreamContent(File.OpenRead(TinyDisk)), type: "linux");
        Assert.Equal(HttpStatusCode.BadRequest, unknownType.StatusCode);
        Assert.Contains("not a VM node type", await unknownType.Content.ReadAsStringAsync(ct));
        var overlay = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{name}-overlay.qcow2");
        try
        {
            (await HostCommand.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", TinyDisk, overlay], TimeSpan.FromMinutes(1))).EnsureSuccess("qemu-img create");
            var backed = await UploadAsync(server.Admin, name, "1", Sha256Of(overlay), new StreamContent(File.OpenRead(overlay)));
            Assert.Equal(HttpStatusCode.BadRequest, backed.StatusCode);
            Assert.Contains("backing file", await backed.Content.ReadAsStringAsync(ct));
        }
        finally
        {
            File.Delete(overlay);
        }
        Assert.False(Directory.Exists(Path.Combine(Library, name)));
        Assert.Empty(Directory.Exists(Library) ? Directory.GetDirectories(Library, ".incoming-*") : []);

        // The upload, streamed with its checksum; a student sees it, cannot add one, and boots it.
        await using var disk = File.OpenRead(TinyDisk);
        var added = await server.AdminApi.UploadVmImageAsync(name, "1", "ltb_tinyvm", null, sha, disk, ct);
        Assert.Equal((name + ":1", "qcow2", sha, new FileInfo(TinyDisk).Length, "upload"), (added.Reference, added.Format, added.Sha256, added.SizeBytes, added.Source));
        var again = await UploadAsync(server.Admin, name, "1", sha, new StreamContent(File.OpenRead(TinyDisk)));
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        var student = await server.CreateUserAsync("vmi");
        using var owner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        var listed = await Http.ReadAsync<Paged<VmImageDto>>(await owner.GetAsync("/api/v1/vm-images?nodeType=ltb_tinyvm", ct), 200);
        Assert.Contains(listed.Items, i => i.Id == added.Id);
        Assert.Equal(HttpStatusCode.Forbidden, (await UploadAsync(owner, name, "2", sha, new StreamContent(File.OpenRead(TinyDisk)))).StatusCode);

        await using (var lab = await ServerLab.RunAsync(owner, $$"""
            name: {{ServerFixture.Unique("vmi")}}
            topology:
              nodes:
                vm1: {kind: ltb_tinyvm, image: "{{name}}:1"}
            """))
        {
            var console = $"/api/v1/labs/{lab.Id}/nodes/vm1/console";
            var ticket = (await Http.ReadAsync<ConsoleTicketResponse>(await owner.PostAsJsonAsync($"{console}/tickets", new ConsoleTicketRequest(), ct), 200)).Url;
            await using var serial = await ExecSocketClient.OpenConsoleAsync(server.BaseAddress, ticket, "&rows=24&cols=80");
            await serial.SessionAsync();
            // The disk's own kernel command line names the guest (the disk booted, not a kernel of the host's library).
            await serial.WaitForAsync("ltb-tinyvm ready: tinydisk");
            await serial.TypeAsync("echo booted-$((6*7)) > /root/mark; cat /root/mark\n");
            await serial.WaitForAsync("booted-42");
            // Device information: the VM's disk use is what it wrote to its overlay.
            var info = await Http.ReadAsync<NodeInfoDto>(await owner.GetAsync($"/api/v1/labs/{lab.Id}/nodes/vm1/info", ct), 200);
            Assert.True(info.DiskBytes > 0, "the VM's overlay has no size");
            await lab.DestroyAsync();
        }
        // The guest wrote to its overlay; the library's disk is the one uploaded.
        Assert.Equal(sha, Sha256Of(Path.Combine(Library, name, "1", "disk.qcow2")));

        // From a path on the controller's host (format read from the disk), then deleted: row and file go.
        var imported = await server.AdminApi.ImportVmImageAsync(new ImportVmImageRequest(name, "2", "ltb_tinyvm", TinyDisk), ct);
        Assert.Equal(("qcow2", sha, "path"), (imported.Format, imported.Sha256, imported.Source));
        await server.AdminApi.DeleteVmImageAsync(added.Id, ct);
        await server.AdminApi.DeleteVmImageAsync(imported.Id, ct);
        Assert.False(Directory.Exists(Path.Combine(Library, name)));
        Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.GetAsync($"/api/v1/vm-images/{added.Id}", ct)).StatusCode);
    }

    /// <summary>A stream of zeros of a given length that cannot seek (sent chunked: the server counts as it reads).</summary>
    private sealed class Zeros(long length) : Stream
    {
        private long _left = length;

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, _left);
            Array.Clear(buffer, offset, n);
            _left -= n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
