using System.Net.Http.Json;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Templates;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// Issue #10, "Files", on the local host: a node plants symbolic links in its writable bind (pointing at a canary
/// folder on the host), then the lab is reconfigured and redeployed: LTB writes each deployment into a fresh folder and
/// never follows a link, so the canary is untouched; a destroyed lab leaves no folder.
/// </summary>
public sealed class LabFolderTests(SqliteServer fixture) : IClassFixture<SqliteServer>
{
    private SqliteServer S
    {
        get
        {
            fixture.Require();
            return fixture;
        }
    }

    public static string Lab(string name, string extra = "") => $$"""
        name: {{name}}
        topology:
          nodes:
            a: {kind: linux, image: "ltb/tiny:latest", binds: ["data:/data:rw"]}
            b: {kind: linux, image: "ltb/tiny:latest", binds: ["files/motd:/etc/motd-lab"]}
        {{extra}}
        """;

    public static Dictionary<string, byte[]> Files(string motd) => new()
    {
        ["data/seed.txt"] = "seed\n"u8.ToArray(),
        ["data/sub/inner.txt"] = "inner\n"u8.ToArray(),
        ["files/motd"] = System.Text.Encoding.UTF8.GetBytes(motd),
    };

    [Fact]
    public async Task Links_a_node_plants_in_its_bind_are_never_followed_and_a_destroyed_lab_leaves_no_folder()
    {
        LabTestSupport.RequireDocker();
        var admin = S.Admin;
        var name = ServerFixture.Unique("lnk");
        using var canary = Canary.Create();
        var (labId, runtimeName) = await DeployAsync(admin, Lab(name), Files("one\n"), reconfigure: false);
        var labFolder = Path.Combine(S.DataDirectory, "labs", labId.ToString("N"));
        try
        {
            Assert.True(Directory.Exists(labFolder), labFolder);
            await canary.PlantAsync(admin, name, runtimeName);

            // Reconfigure (b's file changes, a new node c mounts the same folder), then the same again, then redeploy.
            await DeployAsync(admin, Lab(name, "    c: {kind: linux, image: \"ltb/tiny:latest\", binds: [\"data:/data\"]}"), Files("two\n"), reconfigure: true);
            canary.AssertUntouched();
            var c = await Http.ReadAsync<ExecResponse>(await admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec", new ExecRequest("c", ["cat", "/data/seed.txt", "/data/sub/inner.txt"])), 200);
            Assert.Equal((0L, "seed\ninner\n"), (c.ExitCode, c.Stdout));
            var b = await Http.ReadAsync<ExecResponse>(await admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec", new ExecRequest("b", ["cat", "/etc/motd-lab"])), 200);
            Assert.Equal((0L, "two\n"), (b.ExitCode, b.Stdout));
            // The node's writable bind: read-only elsewhere (b's bind has no :rw).
            var write = await Http.ReadAsync<ExecResponse>(await admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec", new ExecRequest("b", ["sh", "-c", "echo x > /etc/motd-lab"])), 200);
            Assert.NotEqual(0L, write.ExitCode);
            Assert.Contains("Read-only", write.Stderr, StringComparison.OrdinalIgnoreCase);

            await DeployAsync(admin, Lab(name, "    c: {kind: linux, image: \"ltb/tiny:latest\", binds: [\"data:/data\"]}"), Files("two\n"), reconfigure: true);
            canary.AssertUntouched();
            var destroy = await Http.ReadAsync<LabTaskAccepted>(await admin.DeleteAsync($"/api/v1/labs/{name}"), 202);
            Assert.Equal("succeeded", (await LabTestSupport.WaitAsync(admin, destroy.Task.Id)).State);
            canary.AssertUntouched();
            Assert.False(Directory.Exists(labFolder), $"{labFolder} is left after the lab was destroyed");
            await DeployAsync(admin, Lab(name), Files("three\n"), reconfigure: false);
            canary.AssertUntouched();
        }
        finally
        {
            var removal = await Http.ReadAsync<LabTaskAccepted>(await admin.DeleteAsync($"/api/v1/labs/{name}"), 202);
            Assert.Equal("succeeded", (await LabTestSupport.WaitAsync(admin, removal.Task.Id)).State);
        }
        canary.AssertUntouched();
        Assert.Equal(0, await LabTestSupport.LeftoversAsync(runtimeName));
        Assert.False(Directory.Exists(labFolder), $"{labFolder} is left after the lab was destroyed");
    }

    /// <summary>Deploys (or reconfigures) and waits for success; the lab's id and runtime name.</summary>
    public static async Task<(Guid Id, string RuntimeName)> DeployAsync(HttpClient client, string yaml, Dictionary<string, byte[]> files,
        bool reconfigure, string? host = null)
    {
        using var upload = TemplateTestSupport.Upload(yaml, files: files);
        if (host is not null)
        {
            upload.Add(new StringContent(host), "host");
        }
        if (reconfigure)
        {
            upload.Add(new StringContent("true"), "reconfigure");
        }
        var accepted = await Http.ReadAsync<LabTaskAccepted>(await client.PostAsync("/api/v1/labs", upload), 202);
        var task = await LabTestSupport.WaitAsync(client, accepted.Task.Id);
        Assert.True(task.State == "succeeded", $"{task.Error}\n{string.Join('\n', task.Log)}");
        return (accepted.Lab.Id, accepted.Lab.RuntimeName);
    }
}
