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
        await using var lab = await ServerLab.RunAsync(admin, Form(Lab(name), Files("one\n")));
        var labFolder = Path.Combine(S.DataDirectory, "labs", lab.Id.ToString("N"));
        Assert.True(Directory.Exists(labFolder), labFolder);
        await canary.PlantAsync(admin, name, lab.RuntimeName);

        // Reconfigure (b's file changes, a new node c mounts the same folder), then the same again, then redeploy.
        await lab.AgainAsync(Form(Lab(name, "    c: {kind: linux, image: \"ltb/tiny:latest\", binds: [\"data:/data\"]}"), Files("two\n"), reconfigure: true));
        canary.AssertUntouched();
        var c = await Http.ReadAsync<ExecResponse>(await admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec", new ExecRequest("c", ["cat", "/data/seed.txt", "/data/sub/inner.txt"])), 200);
        Assert.Equal((0L, "seed\ninner\n"), (c.ExitCode, c.Stdout));
        var b = await Http.ReadAsync<ExecResponse>(await admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec", new ExecRequest("b", ["cat", "/etc/motd-lab"])), 200);
        Assert.Equal((0L, "two\n"), (b.ExitCode, b.Stdout));
        // The node's writable bind: read-only elsewhere (b's bind has no :rw).
        var write = await Http.ReadAsync<ExecResponse>(await admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec", new ExecRequest("b", ["sh", "-c", "echo x > /etc/motd-lab"])), 200);
        Assert.NotEqual(0L, write.ExitCode);
        Assert.Contains("Read-only", write.Stderr, StringComparison.OrdinalIgnoreCase);

        await lab.AgainAsync(Form(Lab(name, "    c: {kind: linux, image: \"ltb/tiny:latest\", binds: [\"data:/data\"]}"), Files("two\n"), reconfigure: true));
        canary.AssertUntouched();
        await lab.DestroyAsync();
        canary.AssertUntouched();
        Assert.False(Directory.Exists(labFolder), $"{labFolder} is left after the lab was destroyed");
        await lab.AgainAsync(Form(Lab(name), Files("three\n")));
        canary.AssertUntouched();

        await lab.DestroyAsync();
        canary.AssertUntouched();
        await lab.AssertNoLeftoversAsync();
        Assert.False(Directory.Exists(labFolder), $"{labFolder} is left after the lab was destroyed");
    }

    /// <summary>A deployment (or, with <paramref name="reconfigure"/>, a reconfiguration) of the lab with its files, on a host.</summary>
    public static MultipartFormDataContent Form(string yaml, Dictionary<string, byte[]> files, bool reconfigure = false, string? host = null)
    {
        var upload = TemplateTestSupport.Upload(yaml, files: files);
        if (host is not null)
        {
            upload.Add(new StringContent(host), "host");
        }
        if (reconfigure)
        {
            upload.Add(new StringContent("true"), "reconfigure");
        }
        return upload;
    }
}
