using System.Net.Http.Json;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Templates;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// A reconfiguration loads the upload once, in a fresh deployment folder, and moves that folder into the lab's: unchanged
/// nodes keep running with the folder they mount, a node whose uploaded files changed is recreated on the new folder.
/// </summary>
public abstract class LabReconfigureTests<TServer>(TServer fixture) : IClassFixture<TServer>
    where TServer : ServerFixture
{
    private TServer S
    {
        get
        {
            fixture.Require();
            return fixture;
        }
    }

    private static string Lab(string name, bool withC) => $$"""
        name: {{name}}
        topology:
          nodes:
            a: {kind: linux, image: "ltb/tiny:latest", binds: ["files/motd:/etc/motd-lab"]}
            b: {kind: linux, image: "ltb/tiny:latest"}
        {{(withC ? "    c: {kind: linux, image: \"ltb/tiny:latest\", binds: [\"files/motd:/etc/motd-lab\"]}" : "")}}
          links:
            - endpoints: ["a:eth1", "b:eth1"]
        """;

    [Fact]
    public async Task Reconfiguring_keeps_unchanged_nodes_and_recreates_those_whose_files_changed()
    {
        LabTestSupport.RequireDocker();
        var admin = S.Admin;
        var name = ServerFixture.Unique("rc");
        await using var lab = await ServerLab.RunAsync(admin,
            TemplateTestSupport.Upload(Lab(name, false), files: new Dictionary<string, byte[]> { ["files/motd"] = "one\n"u8.ToArray() }));
        var before = await Http.ReadAsync<LabDto>(await admin.GetAsync($"/api/v1/labs/{name}"), 200);
        var second = TemplateTestSupport.Upload(Lab(name, true), files: new Dictionary<string, byte[]> { ["files/motd"] = "two\n"u8.ToArray() });
        second.Add(new StringContent("true"), "reconfigure");
        await lab.AgainAsync(second);
        var after = await Http.ReadAsync<LabDto>(await admin.GetAsync($"/api/v1/labs/{name}"), 200);
        Assert.Equal(["a", "b", "c"], after.Nodes.Select(n => n.Name));
        // b is unchanged; a's file changed: it is recreated and mounts the new folder (the old one is never written).
        Assert.Equal(before.Nodes[1].ContainerId, after.Nodes[1].ContainerId);
        Assert.NotEqual(before.Nodes[0].ContainerId, after.Nodes[0].ContainerId);
        foreach (var node in new[] { "a", "c" })
        {
            var cat = await Http.ReadAsync<ExecResponse>(await admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec",
                new ExecRequest(node, ["cat", "/etc/motd-lab"])), 200);
            Assert.Equal((0L, "two\n"), (cat.ExitCode, cat.Stdout));
        }
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
    }
}

public sealed class LabReconfigureOnSqlite(SqliteServer fixture) : LabReconfigureTests<SqliteServer>(fixture);

public sealed class LabReconfigureOnPostgres(PostgresServer fixture) : LabReconfigureTests<PostgresServer>(fixture);
