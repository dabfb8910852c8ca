using Ltb.Server.Api;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Ltb.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ltb.Server.Tests.Labs;

/// <summary>What a student is told about a refused upload, an invalid topology or a failed deployment names no server folder.</summary>
public sealed class ServerPathsTests(SqliteServer server) : IClassFixture<SqliteServer>
{
    private string DataDirectory => Path.GetFullPath(server.Server.Services.GetRequiredService<LtbServerOptions>().DataDirectory);

    [Fact]
    public void Paths_under_the_data_folder_become_relative_to_the_topology()
    {
        var lab = Guid.Parse("0b0e4a6e-58a4-4d7e-9b62-4f1f1e3c9d10");
        var files = LabFolders.Deployment("/srv/ltb", lab, Guid.NewGuid());
        Assert.Equal("bind conf/r1.cfg and ../secret and ../../../other/files/x and ../../../../ltb.db; . and /etc/hosts",
            ServerPaths.Relative($"bind {files}/conf/r1.cfg and {files}/../secret and /srv/ltb/labs/other/files/x and /srv/ltb/ltb.db; " +
                $"{files} and /etc/hosts", files));
        var old = LabFolders.Deployment("/srv/ltb", lab, Guid.NewGuid());
        Assert.Equal("bind conf/r1.cfg, was conf/r0.cfg; ../../secret",
            ServerPaths.OfLab($"bind {files}/conf/r1.cfg, was {old}/conf/r0.cfg; /srv/ltb/labs/{lab:N}/secret", "/srv/ltb", lab));
    }

    [Fact]
    public async Task A_students_refused_upload_invalid_topology_and_failed_deployment_name_no_server_folder()
    {
        var user = await server.CreateUserAsync("sp", "student");
        using var student = await server.LoginAsync(user.UserName, ServerFixture.UserPassword);
        var data = DataDirectory;

        using (var upload = LabTestSupport.Upload(LabTestSupport.TinyLab(ServerFixture.Unique("sp"))))
        {
            upload.Add(new StringContent("x"), "files", "../escape.txt");
            var refused = (await Http.ProblemAsync(await student.PostAsync("/api/v1/labs", upload), 400)).GetRawText();
            Assert.Contains("escape.txt", refused);
            Assert.DoesNotContain(data, refused);
        }

        var binds = $"""
            name: {ServerFixture.Unique("sp")}
            topology:
              nodes:
                a:
                  kind: linux
                  image: ltb/tiny:latest
                  binds: ["missing.cfg:/etc/missing.cfg:ro", "../../secret.txt:/etc/secret.txt:ro"]
            """;
        using (var content = LabTestSupport.Upload(binds))
        {
            var response = await student.PostAsync("/api/v1/labs", content);
            var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.True((int)response.StatusCode is 400 or 422, text);
            Assert.Contains("missing.cfg", text);
            Assert.DoesNotContain(data, text);
            Assert.DoesNotContain("/labs/", text);
        }

        // A deployment that fails on the host (an image the host does not have, which the admin's policy allows).
        LabTestSupport.RequireDocker();
        await server.SetPolicyAsync(Ltb.Topology.Policy.TenantPolicy.Default with { Images = ["ltb/no-such-image:*"] });
        await using var failed = await ServerLab.StartAsync(student, LabTestSupport.TinyLab(ServerFixture.Unique("sp"), image: "ltb/no-such-image:0"));
        var task = await failed.WaitAsync();
        Assert.Equal("failed", task.State);
        var lab = await student.GetStringAsync($"/api/v1/labs/{failed.Id}", TestContext.Current.CancellationToken);
        foreach (var told in new[] { task.Error ?? "", string.Join('\n', task.Log), lab })
        {
            Assert.DoesNotContain(data, told);
        }
        await failed.DestroyAsync();
    }
}
