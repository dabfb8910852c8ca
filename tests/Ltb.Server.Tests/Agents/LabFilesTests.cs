using System.Formats.Tar;
using System.IO.Compression;
using Ltb.Agent.Remote;

namespace Ltb.Server.Tests.Agents;

/// <summary>The agent's side of a lab's files: what it unpacks, where, and what it refuses (no engine needed).</summary>
public sealed class LabFilesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ltb-labfiles-").FullName;

    private static byte[] Archive(params TarEntry[] entries)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            foreach (var e in entries)
            {
                tar.WriteEntry(e);
            }
        }
        return buffer.ToArray();
    }

    private static PaxTarEntry FileEntry(string name, string text) =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)) };

    [Fact]
    public void A_link_entry_is_refused_naming_it_and_nothing_is_left()
    {
        var target = Path.Combine(_root, "lab");
        var archive = Archive(FileEntry("d1/ok.txt", "ok"), new PaxTarEntry(TarEntryType.SymbolicLink, "d1/evil") { LinkName = "/etc" });
        var refused = Assert.Throws<IOException>(() => LabFiles.Unpack(archive, target));
        Assert.Equal("'d1/evil' in the lab's files is a SymbolicLink; only folders and regular files are accepted", refused.Message);
        Assert.Empty(Directory.GetFileSystemEntries(target));
        Assert.Throws<IOException>(() => LabFiles.Unpack(Archive(FileEntry("d1/../../x", "x")), target));
        Assert.Empty(Directory.GetFileSystemEntries(target));
    }

    [Fact]
    public void A_folder_the_agent_has_is_kept_as_it_is_and_a_new_one_is_written_fresh()
    {
        var target = Path.Combine(_root, "lab");
        LabFiles.Unpack(Archive(FileEntry("d1/a.txt", "first")), target);
        // A node replaced its file by a link (to a canary): unpacking again neither writes through it nor replaces it.
        var canary = Path.Combine(_root, "canary.txt");
        File.WriteAllText(canary, "canary");
        File.Delete(Path.Combine(target, "d1", "a.txt"));
        File.CreateSymbolicLink(Path.Combine(target, "d1", "a.txt"), canary);
        LabFiles.Unpack(Archive(FileEntry("d1/a.txt", "second"), FileEntry("d2/a.txt", "second")), target);
        Assert.Equal("canary", File.ReadAllText(canary));
        Assert.Equal("second", File.ReadAllText(Path.Combine(target, "d2", "a.txt")));
        Assert.Equal(["d1", "d2"], Directory.GetDirectories(target).Select(Path.GetFileName).Order());
        // Packing a folder with a link refuses it; deleting the lab removes the link, not the canary.
        Assert.Equal("'a.txt' is a symbolic link; LTB does not follow links in a lab's files",
            Assert.Throws<IOException>(() => LabFiles.Pack(target, ["d1"])).Message);
        LabFiles.Prune(target, new HashSet<string> { "d2" });
        Assert.Equal(["d2"], Directory.GetDirectories(target).Select(Path.GetFileName));
        FileTree.Delete(target);
        Assert.False(Directory.Exists(target));
        Assert.Equal("canary", File.ReadAllText(canary));
    }

    [Fact]
    public async Task Files_sent_ahead_are_kept_only_whole_and_unaltered_and_gone_once_unpacked()
    {
        var folder = new AgentFilesFolder(Path.Combine(_root, "files"));
        var archive = Archive(FileEntry("d1/a.txt", "ahead"));
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(archive));
        var ct = TestContext.Current.CancellationToken;
        var uploads = Path.Combine(_root, "files", ".uploads");

        var id = await folder.ReceiveAsync("lab1", new MemoryStream(archive), archive.Length, sha, ct);
        var target = folder.UnpackUpload("lab1", id);
        Assert.Equal("ahead", File.ReadAllText(Path.Combine(target, "d1", "a.txt")));
        Assert.Empty(Directory.GetFiles(uploads));
        Assert.Contains("are not on this host", Assert.Throws<Ltb.Runtime.Status.LabRuntimeException>(() => folder.UnpackUpload("lab1", id)).Message);

        async Task<string> RefusedAsync(byte[] bytes, long size, string hash) =>
            (await Assert.ThrowsAsync<Ltb.Runtime.Status.LabRuntimeException>(() => folder.ReceiveAsync("lab1", new MemoryStream(bytes), size, hash, ct))).Cause;
        Assert.Equal($"the lab's files arrived with {archive.Length} of their {archive.Length + 1} bytes", await RefusedAsync(archive, archive.Length + 1, sha));
        Assert.Equal($"the lab's files arrived longer than the {archive.Length - 1} bytes announced", await RefusedAsync(archive, archive.Length - 1, sha));
        var altered = archive.ToArray();
        altered[^1] ^= 1;
        Assert.Equal("the lab's files arrived altered (their SHA-256 is not the one announced)", await RefusedAsync(altered, altered.Length, sha));
        Assert.Contains("64 GiB", await RefusedAsync(archive, LabFileUploads.MaxBytes + 1, sha));
        Assert.Empty(Directory.GetFiles(uploads));
        // Ids come from the wire: only ours name a file, never a path.
        Assert.Contains("is not an id", Assert.Throws<Ltb.Runtime.Status.LabRuntimeException>(() => folder.UnpackUpload("lab1", "../../etc/passwd")).Message);
        await Assert.ThrowsAsync<Ltb.Runtime.Status.LabRuntimeException>(() => folder.ReceiveAsync("../x", new MemoryStream(archive), archive.Length, sha, ct));
    }

    public void Dispose() => FileTree.Delete(_root);
}

/// <summary>What a remote agent reports names the controller's paths of the lab's files, never its own.</summary>
public sealed class AgentFilePathsTests
{
    private readonly FilePaths _paths = new("/var/lib/ltb-agent/files/lab1", "/srv/ltb/labs/0a/files");

    [Fact]
    public void Errors_progress_and_status_name_the_controllers_paths()
    {
        var error = _paths.Back(new Ltb.Runtime.Status.LabRuntimeException("lab1", "r1",
            "bind source /var/lib/ltb-agent/files/lab1/0f/r1/frr.conf does not exist"));
        Assert.Equal("lab 'lab1', node 'r1': bind source /srv/ltb/labs/0a/files/0f/r1/frr.conf does not exist", error.Message);
        var seen = new List<string>();
        _paths.Translate(new Progress(seen)).Report(new Ltb.Runtime.Status.RuntimeEvent(DateTimeOffset.UnixEpoch, "lab1", "r1",
            Ltb.Runtime.Status.RuntimeEventKind.Info, "mounting /var/lib/ltb-agent/files/lab1/0f/r1"));
        Assert.Equal(["mounting /srv/ltb/labs/0a/files/0f/r1"], seen);
        Assert.Equal("unchanged", FilePaths.None.Back("unchanged"));
    }

    private sealed class Progress(List<string> seen) : IProgress<Ltb.Runtime.Status.RuntimeEvent>
    {
        public void Report(Ltb.Runtime.Status.RuntimeEvent value) => seen.Add(value.Message);
    }
}
