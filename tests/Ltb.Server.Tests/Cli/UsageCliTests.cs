using System.Text.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;

namespace Ltb.Server.Tests.Cli;

/// <summary>
/// Issue #16's history, accounting and catalog in the CLI, through `./ltb serve`: a lab of two ltb/tiny nodes shows in
/// `ltb lab top LAB --history` once its first minute is written, in `ltb usage report` and `ltb usage top`, and
/// `ltb catalog list` names the hosts that run each node type.
/// </summary>
public sealed class UsageCliTests(ServeProcess server) : IClassFixture<ServeProcess>
{
    private Task<HostCommand.Result> Ltb(params string[] args)
    {
        var env = ServeProcess.HomeEnvironment(server.Home);
        env["LTB_SERVER"] = "";
        env["LTB_TOKEN"] = "";
        return HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), args, TimeSpan.FromMinutes(6), env, stdin: args[0] == "login" ? ServeProcess.Password + "\n" : null);
    }

    [Fact]
    public async Task History_report_live_sums_and_the_catalog_in_the_cli()
    {
        LabTestSupport.RequireDocker();
        var login = await Ltb("login", "--server", server.Url, "--user", "admin", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.Stderr);
        var lab = "use" + Guid.NewGuid().ToString("N")[..6];
        var folder = Directory.CreateTempSubdirectory("ltb-usage-cli-").FullName;
        var file = Path.Combine(folder, "lab.clab.yml");
        await File.WriteAllTextAsync(file, LabTestSupport.TinyLab(lab), TestContext.Current.CancellationToken);
        var deploy = await Ltb("lab", "deploy", "-t", file, "--name", lab);
        Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout);
        try
        {
            // The history is written a minute at a time: wait for the first minute with both nodes in it.
            JsonElement points;
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
            while (true)
            {
                var r = await Ltb("lab", "top", lab, "--history", "15m", "-o", "json");
                Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
                points = JsonDocument.Parse(r.Stdout).RootElement.GetProperty("points").Clone();
                if (points.EnumerateArray().Any(p => p.GetProperty("nodes").GetDouble() > 0))
                {
                    break;
                }
                Assert.True(DateTime.UtcNow < deadline, "waited 4 minutes for a minute of the lab in its history: " + r.Stdout);
                await Task.Delay(TimeSpan.FromSeconds(5));
            }
            Assert.InRange(points.GetArrayLength(), 15, 16); // a point per minute since 15 minutes ago
            Assert.All(points.EnumerateArray(), p => Assert.True(p.GetProperty("nodes").GetDouble() <= 2.0 + 1e-9));

            var table = await Ltb("lab", "top", lab, "--history", "15m");
            Assert.Matches(@"(?m)^TIME +NODES +CPU % +MEMORY +RX +TX$", table.Stdout);
            var report = await Ltb("usage", "report", "--by", "lab", "--from", "1h", "-o", "json");
            Assert.True(report.ExitCode == 0, report.Stderr);
            var row = JsonDocument.Parse(report.Stdout).RootElement.GetProperty("rows").EnumerateArray()
                .Single(r => r.GetProperty("name").GetString() == lab);
            Assert.True(row.GetProperty("nodeHours").GetDouble() > 0, report.Stdout);
            var byUser = await Ltb("usage", "report", "--by", "user", "--from", "1h");
            Assert.Matches(@"(?m)^NAME +NODE-HOURS +CPU-HOURS +MEMORY GIB-HOURS +RX +TX$", byUser.Stdout);
            Assert.Matches(@"(?m)^admin +\d", byUser.Stdout);
            var live = await Ltb("usage", "top", "--by", "lab");
            Assert.Matches($@"(?m)^{lab} +2 +2 +\d", live.Stdout);
            var hosts = await Ltb("host", "top", "--history", "10m");
            Assert.Matches(@"(?m)^local +\d{4}-\d\d-\d\d \d\d:\d\dZ +\d", hosts.Stdout);
            var bad = await Ltb("lab", "top", lab, "--history", "soon");
            Assert.Equal(1, bad.ExitCode);
            Assert.Contains("--history 'soon'", bad.Stderr);

            var catalog = await Ltb("catalog", "list");
            Assert.True(catalog.ExitCode == 0, catalog.Stderr);
            Assert.Matches(@"(?m)^linux +container +.*local", catalog.Stdout);
        }
        finally
        {
            var destroy = await Ltb("lab", "destroy", lab);
            Assert.True(destroy.ExitCode == 0, destroy.Stderr + destroy.Stdout);
            Directory.Delete(folder, recursive: true);
        }
    }
}
