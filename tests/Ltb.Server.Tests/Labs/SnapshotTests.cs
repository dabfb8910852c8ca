using System.Net;
using System.Net.Http.Json;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// Issue #15 on this machine's engine, frr01 from the corpus: a route and an interface description configured on router1
/// and a file written in PC1 are in the snapshot; the lab is destroyed; a new lab restored from the snapshot has them all
/// and OSPF converges. A snapshot that fails leaves nothing; another student cannot read the snapshot; a template the
/// instructor publishes from it gives a student of the group the prepared state; exported by `ltb lab export` and imported by
/// `ltb lab import` into a second, fresh server, it restores there the same way; deleting it frees its space and folder.
/// </summary>
public sealed class SnapshotTests(SqliteServer server, SnapshotTests.SecondServer second) : IClassFixture<SqliteServer>, IClassFixture<SnapshotTests.SecondServer>
{
    /// <summary>Another LTB with a database and store of its own: where the exported snapshot is imported.</summary>
    public sealed class SecondServer : SqliteServer;

    [Fact]
    public async Task Frr01_restored_from_its_snapshot_into_a_new_lab_has_the_route_the_description_and_the_file_and_converges()
    {
        LabTestSupport.RequireDocker();
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var instructor = await server.CreateUserAsync("snpi", "instructor");
        var student = await server.CreateUserAsync("snps");
        var other = await server.CreateUserAsync("snpo");
        var group = await server.CreateGroupAsync("snpg", instructor.Id, student.Id);
        using var owner = await server.LoginAsync(instructor.UserName, ServerFixture.UserPassword);
        using var learner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        using var stranger = await server.LoginAsync(other.UserName, ServerFixture.UserPassword);
        var name = ServerFixture.Unique("snap");
        await using var lab = await ServerLab.RunAsync(owner, CaptureTests.Frr01Upload(name));
        await SnapshotScenario.WorkAsync(owner, lab.Id);

        var snapshot = await SnapshotScenario.TakeAsync(owner, lab.Id, "afternoon");
        Assert.Equal("ready", snapshot.State);
        Assert.Equal(6, snapshot.Nodes);
        Assert.InRange(snapshot.SizeBytes, 1, 64L << 20);
        var folder = Path.Combine(server.DataDirectory, "snapshots", snapshot.Id.ToString("N"));
        Assert.True(File.Exists(Path.Combine(folder, "snapshot.json")));

        // A snapshot that fails (a node stopped) leaves the lab running and nothing of itself behind.
        await Http.ReadAsync<LabNodeDto>(await owner.PostAsync($"/api/v1/labs/{lab.Id}/nodes/PC2/stop", null, ct), 200);
        var failing = await Http.ReadAsync<SnapshotAccepted>(await owner.PostAsJsonAsync($"/api/v1/labs/{lab.Id}/snapshots",
            new CreateSnapshotRequest("broken"), ct), 202);
        var failed = await LabTestSupport.WaitAsync(owner, failing.Task.Id);
        Assert.Equal("failed", failed.State);
        Assert.Contains("PC2", failed.Error);
        var listed = await Http.ReadAsync<Paged<SnapshotDto>>(await owner.GetAsync($"/api/v1/labs/{lab.Id}/snapshots", ct), 200);
        Assert.Equal(["afternoon"], listed.Items.Select(s => s.Name));
        Assert.Equal("running", (await Http.ReadAsync<LabDto>(await owner.GetAsync($"/api/v1/labs/{lab.Id}", ct), 200)).State);
        Assert.Equal([snapshot.Id.ToString("N")], Directory.GetDirectories(Path.Combine(server.DataDirectory, "snapshots"))
            .Select(Path.GetFileName).Where(d => d == snapshot.Id.ToString("N") || d == failing.Snapshot.Id.ToString("N")));

        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();

        // Another student neither sees nor restores it.
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/api/v1/snapshots/{snapshot.Id}", ct)).StatusCode);
        using (var refused = SnapshotScenario.RestoreForm(snapshot.Id, name + "x"))
        {
            Assert.Equal(HttpStatusCode.NotFound, (await stranger.PostAsync("/api/v1/labs", refused, ct)).StatusCode);
        }

        await using var restored = await ServerLab.RunAsync(owner, SnapshotScenario.RestoreForm(snapshot.Id, name + "r"));
        await SnapshotScenario.AssertRestoredAsync(owner, restored.Id);
        await restored.DestroyAsync();
        await restored.AssertNoLeftoversAsync();

        // Published as a template version for the group: a student's lab from it starts in the prepared state.
        var form = new MultipartFormDataContent
        {
            { new StringContent(snapshot.Id.ToString()), "snapshot" }, { new StringContent(name + "-tpl"), "name" },
            { new StringContent("group"), "visibility" }, { new StringContent(group.Id.ToString()), "groupId" },
        };
        var template = await Http.ReadAsync<TemplateDto>(await owner.PostAsync("/api/v1/templates", form, ct), 201);
        var deployTemplate = new MultipartFormDataContent { { new StringContent(template.Id.ToString()), "template" }, { new StringContent(name + "s"), "name" } };
        await using var prepared = await ServerLab.RunAsync(learner, deployTemplate);
        await SnapshotScenario.AssertRestoredAsync(learner, prepared.Id);
        await prepared.DestroyAsync();
        await prepared.AssertNoLeftoversAsync();

        await ExportImportAndRestoreOnTheSecondServerAsync(owner, name, snapshot);

        var before = await Http.ReadAsync<SnapshotQuotaDto>(await owner.GetAsync("/api/v1/snapshots/usage", ct), 200);
        Assert.Equal(snapshot.SizeBytes, before.UsedBytes);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.DeleteAsync($"/api/v1/snapshots/{snapshot.Id}", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"/api/v1/snapshots/{snapshot.Id}", ct)).StatusCode);
        Assert.Equal(0, (await Http.ReadAsync<SnapshotQuotaDto>(await owner.GetAsync("/api/v1/snapshots/usage", ct), 200)).UsedBytes);
        Assert.False(Directory.Exists(folder));
    }

    /// <summary>
    /// A file deleted from the node's image stays deleted in the restored lab (the snapshot records it and restore deletes it
    /// again once the node started); an added file and the image's other files are there.
    /// </summary>
    [Fact]
    public async Task A_file_deleted_from_the_image_is_gone_after_restore_and_the_others_survive()
    {
        LabTestSupport.RequireDocker();
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var user = await server.CreateUserAsync("snpdel");
        using var owner = await server.LoginAsync(user.UserName, ServerFixture.UserPassword);
        var name = ServerFixture.Unique("snpdel");
        await using var lab = await ServerLab.RunAsync(owner, $$"""
            name: {{name}}
            topology:
              nodes:
                h1: {kind: linux, image: "ltb/tiny:latest"}
            """);
        var work = await SnapshotScenario.ExecAsync(owner, lab.Id, "h1", "sh", "-c", "rm /etc/group /bin/arch && echo kept > /etc/added");
        Assert.True(work.ExitCode == 0, work.Stderr);

        var snapshot = await SnapshotScenario.TakeAsync(owner, lab.Id, "deleted");
        var manifest = System.Text.Json.JsonSerializer.Deserialize<Ltb.Server.Snapshots.SnapshotManifest>(await File.ReadAllTextAsync(
            Path.Combine(server.DataDirectory, "snapshots", snapshot.Id.ToString("N"), "snapshot.json"), ct), Ltb.Server.Snapshots.SnapshotStore.Json)!;
        Assert.Equal(["/bin/arch", "/etc/group"], Assert.Single(manifest.Nodes).Deleted);
        await lab.DestroyAsync();

        await using var restored = await ServerLab.RunAsync(owner, SnapshotScenario.RestoreForm(snapshot.Id, name + "r"));
        var seen = await SnapshotScenario.ExecAsync(owner, restored.Id, "h1", "sh", "-c",
            "for f in /etc/group /bin/arch /etc/passwd /bin/ash /etc/added; do if [ -e $f ] || [ -L $f ]; then echo $f; fi; done; cat /etc/added");
        Assert.True(seen.ExitCode == 0, seen.Stderr);
        Assert.Equal("/etc/passwd\n/bin/ash\n/etc/added\nkept\n", seen.Stdout);
        await restored.DestroyAsync();
        await restored.AssertNoLeftoversAsync();
    }

    /// <summary>
    /// `ltb lab export` on this server, `ltb lab import` into the second one (as a user of its own), a new lab restored there
    /// from the import: the route, the description and the file are there and OSPF converges; the archive names the images.
    /// </summary>
    private async Task ExportImportAndRestoreOnTheSecondServerAsync(HttpClient owner, string labName, SnapshotDto snapshot)
    {
        second.Require();
        var ct = TestContext.Current.CancellationToken;
        var folder = Directory.CreateTempSubdirectory("ltb-snapshot-export-").FullName;
        try
        {
            var archive = Path.Combine(folder, "frr01" + Ltb.Server.Snapshots.SnapshotArchive.Extension);
            var export = await CliAsync(server, owner, "lab", "export", labName, "--snapshot", snapshot.Name, "-o", archive);
            Assert.True(export.ExitCode == 0, export.Stderr + export.Stdout);
            Assert.Contains($"snapshot '{labName}/{snapshot.Name}' exported to {archive}", export.Stdout);
            var manifest = ReadArchiveManifest(archive);
            // Without a VM's RAM state the archive is format 1: LTBs that read format 1 only import it too.
            Assert.Equal(1, manifest.Format);
            Assert.Contains(manifest.Images, i => i.Node == "router1" && i.Image.StartsWith("quay.io/frrouting/frr", StringComparison.Ordinal));
            Assert.Contains(manifest.Members, m => m.Path == "nodes/PC1.tar");

            var importer = await second.CreateUserAsync("snpimp");
            using var there = await second.LoginAsync(importer.UserName, ServerFixture.UserPassword);
            var import = await CliAsync(second, there, "lab", "import", archive);
            Assert.True(import.ExitCode == 0, import.Stderr + import.Stdout);
            var imported = Assert.Single((await Http.ReadAsync<Paged<SnapshotDto>>(await there.GetAsync("/api/v1/snapshots", ct), 200)).Items);
            Assert.Equal((snapshot.Name, "ready", importer.UserName), (imported.Name, imported.State, imported.Owner));
            Assert.Contains($"snapshot '{imported.LabName}/{imported.Name}' imported", import.Stdout);

            await using var restored = await ServerLab.RunAsync(there, SnapshotScenario.RestoreForm(imported.Id, labName + "i"));
            await SnapshotScenario.AssertRestoredAsync(there, restored.Id);
            await restored.DestroyAsync();
            await restored.AssertNoLeftoversAsync();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>`./ltb` against <paramref name="target"/> with the bearer token of <paramref name="client"/>.</summary>
    internal static Task<Ltb.Testing.HostCommand.Result> CliAsync(ServerFixture target, HttpClient client, params string[] args)
    {
        var home = Directory.CreateTempSubdirectory("ltb-snapshot-cli-").FullName;
        var env = Cli.ServeProcess.HomeEnvironment(home);
        env["LTB_SERVER"] = target.BaseAddress.ToString().TrimEnd('/');
        env["LTB_TOKEN"] = client.DefaultRequestHeaders.Authorization!.Parameter!;
        return Ltb.Testing.HostCommand.RunAsync(Path.Combine(Ltb.Testing.Repo.Root, "ltb"), args, TimeSpan.FromMinutes(5), env);
    }

    private static Ltb.Server.Snapshots.SnapshotArchiveManifest ReadArchiveManifest(string archive)
    {
        using var reader = new System.Formats.Tar.TarReader(File.OpenRead(archive));
        var first = reader.GetNextEntry()!;
        Assert.Equal(Ltb.Server.Snapshots.SnapshotArchive.ManifestEntry, first.Name);
        return System.Text.Json.JsonSerializer.Deserialize<Ltb.Server.Snapshots.SnapshotArchiveManifest>(first.DataStream!,
            Ltb.Server.Snapshots.SnapshotStore.Json)!;
    }
}
