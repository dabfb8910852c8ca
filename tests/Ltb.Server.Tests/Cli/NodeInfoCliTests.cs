using System.Text.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;

namespace Ltb.Server.Tests.Cli;

/// <summary>
/// Issue #16's device information, real: frr01 from the containerlab corpus through `./ltb serve`; `ltb lab node info`
/// shows the FRR version router1 reports, its running configuration with `router ospf`, its interfaces with addresses
/// and peers, and counters that rise after a ping crosses them.
/// </summary>
public sealed class NodeInfoCliTests(ServeProcess server) : IClassFixture<ServeProcess>
{
    private Task<HostCommand.Result> Ltb(string? stdin, params string[] args)
    {
        var env = ServeProcess.HomeEnvironment(server.Home);
        env["LTB_SERVER"] = "";
        env["LTB_TOKEN"] = "";
        return HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), args, TimeSpan.FromMinutes(6), env, stdin: stdin);
    }

    [Fact]
    public async Task Node_info_shows_the_version_and_running_config_router1_reports_and_counters_rise_after_a_ping()
    {
        LabTestSupport.RequireDocker();
        var login = await Ltb(ServeProcess.Password + "\n", "login", "--server", server.Url, "--user", "admin", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.Stderr);
        var lab = "info" + Guid.NewGuid().ToString("N")[..6];
        var deploy = await Ltb(null, "lab", "deploy", "-t", Path.Combine(Repo.ContainerlabCorpus, "frr01", "frr01.clab.yml"), "--name", lab);
        Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout);
        try
        {
            // zebra puts frr.conf's addresses on the interfaces a moment after the node starts.
            var before = await InfoAsync(lab, "router1", "--config");
            for (var i = 0; i < 30 && !Interface(before.RootElement, "eth3").GetProperty("addresses").ToString().Contains("192.168.11.1/24"); i++)
            {
                before.Dispose();
                await Task.Delay(TimeSpan.FromSeconds(2));
                before = await InfoAsync(lab, "router1", "--config");
            }
            using var _ = before;
            var r1 = before.RootElement;
            // kind linux running the FRR image: recognised as an frr device, and the version is the device's own answer.
            Assert.Equal(("linux", "frr", "FRRouting"), (r1.GetProperty("kind").GetString(), r1.GetProperty("deviceType").GetString(), r1.GetProperty("vendor").GetString()));
            Assert.Contains("FRRouting", r1.GetProperty("versionOutput").GetString());
            Assert.Matches(@"^\d+\.\d+", r1.GetProperty("version").GetString());
            Assert.Contains(r1.GetProperty("version").GetString()!, r1.GetProperty("versionOutput").GetString());
            Assert.Contains("router ospf", r1.GetProperty("runningConfig").GetString());
            Assert.Equal("quay.io/frrouting/frr:10.5.1", r1.GetProperty("image").GetString());
            Assert.StartsWith("sha256:", r1.GetProperty("imageId").GetString());
            Assert.Equal(["routers"], r1.GetProperty("groups").EnumerateArray().Select(g => g.GetString()));
            Assert.True(r1.GetProperty("uptimeSeconds").GetInt64() >= 0);
            Assert.Equal("running", r1.GetProperty("state").GetString());
            var eth3 = Interface(r1, "eth3");
            Assert.Equal("PC1:eth1", eth3.GetProperty("peer").GetString());
            Assert.Contains("192.168.11.1/24", eth3.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));
            Assert.Equal("UP", eth3.GetProperty("operState").GetString());
            var rxBefore = eth3.GetProperty("counters").GetProperty("rxPackets").GetUInt64();

            var ping = await Ltb(null, "lab", "exec", lab, "PC1", "--", "ping", "-c", "5", "-i", "0.2", "-W", "2", "192.168.11.1");
            Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);
            using var after = await InfoAsync(lab, "router1");
            var counters = Interface(after.RootElement, "eth3").GetProperty("counters");
            Assert.True(counters.GetProperty("rxPackets").GetUInt64() >= rxBefore + 5, $"eth3 rx packets {rxBefore} -> {counters}");
            Assert.True(counters.GetProperty("txPackets").GetUInt64() >= 5);
            // Without --config the device is not asked for its configuration.
            Assert.Equal(JsonValueKind.Null, after.RootElement.GetProperty("runningConfig").ValueKind);

            // The table: the summary lines, one row per interface; --config adds both configurations.
            var table = await Ltb(null, "lab", "node", "info", lab, "router1", "--config");
            Assert.True(table.ExitCode == 0, table.Stderr);
            Assert.Contains($"version:  {r1.GetProperty("version").GetString()}", table.Stdout);
            Assert.Matches(@"(?m)^eth3 +up +.*192\.168\.11\.1/24.* +PC1:eth1 +\d+ +\d+$", table.Stdout);
            Assert.Contains("--- running configuration", table.Stdout);
            // Live usage: every node of the lab with its figures; the hosts (admin) with the lab counted.
            string? top = null;
            await LabTestSupport.WaitForAsync(async () =>
            {
                top = (await Ltb(null, "lab", "top", lab)).Stdout;
                return top.Contains("router1", StringComparison.Ordinal);
            }, "router1 in ltb lab top");
            Assert.Matches(@"(?m)^NODE +STATE +CPU % +MEMORY +DISK +RX +TX$", top);
            Assert.Matches(@"(?m)^router1 +running +\d+\.\d +\d", top);
            var hosts = await Ltb(null, "host", "top");
            Assert.True(hosts.ExitCode == 0, hosts.Stderr);
            Assert.Matches(@"(?m)^local +ready +\d+\.\d +\d+ +", hosts.Stdout);
            var missing = await Ltb(null, "lab", "node", "info", lab, "router9");
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains("router9", missing.Stderr);
        }
        finally
        {
            var destroy = await Ltb(null, "lab", "destroy", lab);
            Assert.True(destroy.ExitCode == 0, destroy.Stderr + destroy.Stdout);
        }
    }

    private async Task<JsonDocument> InfoAsync(string lab, string node, params string[] more)
    {
        var r = await Ltb(null, ["lab", "node", "info", lab, node, "-o", "json", .. more]);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        return JsonDocument.Parse(r.Stdout);
    }

    private static JsonElement Interface(JsonElement node, string name) =>
        node.GetProperty("interfaces").EnumerateArray().Single(i => i.GetProperty("name").GetString() == name);
}
