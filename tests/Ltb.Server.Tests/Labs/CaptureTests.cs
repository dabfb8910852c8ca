using System.Net;
using System.Net.Http.Json;
using Ltb.Client;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Templates;
using Ltb.Testing;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// Issue #13, live capture through the API on the frr01 corpus lab: router1:eth1 captured for a few seconds is read back
/// by tshark (OSPF hellos of both routers, a ping's echo request and reply, interfaces named LAB/NODE:IFACE); two viewers
/// share one tcpdump and get the same packets; a reader that leaves mid-stream leaves no tcpdump; a bad filter is a 400
/// with libpcap's message; another student is refused. One lab for the whole story (FRR takes a while to start).
/// </summary>
public sealed class CaptureTests(SqliteServer server) : IClassFixture<SqliteServer>
{
    private const int CaptureSeconds = 14;

    [Fact]
    public async Task Frr01_router1_eth1_is_captured_as_pcapng_shared_by_two_viewers_and_nothing_is_left_behind()
    {
        LabTestSupport.RequireDocker();
        Prerequisite.Require(HostCommand.Exists("tshark") && HostCommand.Exists("tcpdump"), "tshark and tcpdump on the host");
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var student = await server.CreateUserAsync("cap");
        var other = await server.CreateUserAsync("capo");
        using var owner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        using var stranger = await server.LoginAsync(other.UserName, ServerFixture.UserPassword);
        await using var lab = await ServerLab.RunAsync(owner, Frr01Upload(ServerFixture.Unique("cap")));
        var netns = $"ltb-{lab.RuntimeName}-router1";
        var capture = $"/api/v1/labs/{lab.Id}/capture?interface=router1:eth1";
        var folder = Directory.CreateTempSubdirectory("ltb-capture-");
        try
        {
            // Two viewers of one link, then a ping during the capture.
            var first = Path.Combine(folder.FullName, "first.pcapng");
            var second = Path.Combine(folder.FullName, "second.pcapng");
            var reading = SaveAsync(owner, $"{capture}&seconds={CaptureSeconds}", first, ct);
            await LabTestSupport.WaitForAsync(async () => (await TcpdumpsAsync(netns)).Count == 1, "a tcpdump in router1's namespace");
            var alsoReading = SaveAsync(owner, $"{capture}&seconds={CaptureSeconds - 2}", second, ct);
            await Task.Delay(1000, ct);
            Assert.Single(await TcpdumpsAsync(netns));
            var ping = await owner.PostAsJsonAsync($"/api/v1/labs/{lab.Id}/exec",
                new ExecRequest("router1", ["ping", "-c", "2", "-W", "2", "192.168.1.2"]), ct);
            var pinged = await Http.ReadAsync<ExecResponse>(ping, 200);
            Assert.True(pinged.ExitCode == 0, pinged.Stdout + pinged.Stderr);
            await Task.WhenAll(reading, alsoReading);

            var names = (await TsharkAsync(first, "-T", "fields", "-e", "frame.interface_name")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.NotEmpty(names);
            Assert.All(names, n => Assert.Equal($"{lab.Name}/router1:eth1", n));
            var ospfSources = (await TsharkAsync(first, "-Y", "ospf.msg.hello", "-T", "fields", "-e", "ip.src")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("192.168.1.1", ospfSources);
            Assert.Contains("192.168.1.2", ospfSources);
            var icmp = await TsharkAsync(first, "-Y", "icmp", "-T", "fields", "-e", "frame.time_epoch", "-e", "ip.src", "-e", "icmp.type");
            Assert.Contains("192.168.1.1\t8", icmp);
            Assert.Contains("192.168.1.2\t0", icmp);
            // The second viewer got the same ICMP packets, with the same timestamps: one capture, fanned out.
            Assert.Equal(icmp, await TsharkAsync(second, "-Y", "icmp", "-T", "fields", "-e", "frame.time_epoch", "-e", "ip.src", "-e", "icmp.type"));
            // Each stream ends with its statistics: nothing lost by these readers, and why it ended.
            var stats = Assert.Single(await StatisticsAsync(first, ct));
            Assert.Equal(0UL, stats.Dropped);
            Assert.Contains("ended: the time limit (14 s) was reached", stats.Comment);
            await LabTestSupport.WaitForAsync(async () => (await TcpdumpsAsync(netns)).Count == 0, "no tcpdump after both captures ended");

            // A reader that leaves mid-stream: its tcpdump goes.
            using (var response = await owner.GetAsync(capture, HttpCompletionOption.ResponseHeadersRead, ct))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("application/x-pcapng", response.Content.Headers.ContentType?.MediaType);
                await using var body = await response.Content.ReadAsStreamAsync(ct);
                var head = new byte[4];
                await body.ReadExactlyAsync(head, ct);
                Assert.Equal([0x0A, 0x0D, 0x0D, 0x0A], head);
                Assert.Single(await TcpdumpsAsync(netns));
            }
            await LabTestSupport.WaitForAsync(async () => (await TcpdumpsAsync(netns)).Count == 0, "no tcpdump after the reader left");

            // A filter libpcap refuses; an interface the node does not have; another student.
            var bad = await owner.GetAsync($"{capture}&filter={Uri.EscapeDataString("tcp port nosuchport")}", ct);
            var problem = await bad.Content.ReadAsStringAsync(ct);
            Assert.True(bad.StatusCode == HttpStatusCode.BadRequest, problem);
            Assert.Contains("unknown port 'nosuchport'", problem);
            var missing = await owner.GetAsync($"/api/v1/labs/{lab.Id}/capture?interface=router1:eth9", ct);
            Assert.Equal(HttpStatusCode.Conflict, missing.StatusCode);
            Assert.Contains("no interface 'eth9'", await missing.Content.ReadAsStringAsync(ct));
            var refused = await stranger.GetAsync(capture, ct);
            Assert.Contains(refused.StatusCode, new[] { HttpStatusCode.NotFound, HttpStatusCode.Forbidden });
            Assert.Empty(await TcpdumpsAsync(netns));

            // The lab goes while a capture runs: the stream ends, its tcpdump with it, nothing of the lab is left.
            using (var response = await owner.GetAsync(capture, HttpCompletionOption.ResponseHeadersRead, ct))
            {
                await using var body = await response.Content.ReadAsStreamAsync(ct);
                await body.ReadExactlyAsync(new byte[4], ct);
                var tcpdump = Assert.Single(await TcpdumpsAsync(netns));
                await lab.DestroyAsync();
                await LabTestSupport.WaitForAsync(() => Task.FromResult(!Directory.Exists($"/proc/{tcpdump}")), "tcpdump to end with the lab");
                await body.CopyToAsync(Stream.Null, ct).WaitAsync(TimeSpan.FromSeconds(20), ct);
            }
            await lab.AssertNoLeftoversAsync();
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    internal static MultipartFormDataContent Frr01Upload(string name)
    {
        var root = Path.Combine(Repo.ContainerlabCorpus, "frr01");
        var files = Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".clab.yml", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes);
        return TemplateTestSupport.Upload(File.ReadAllBytes(Path.Combine(root, "frr01.clab.yml")), "frr01.clab.yml", name: name, files: files);
    }

    internal static async Task SaveAsync(HttpClient client, string path, string file, CancellationToken ct)
    {
        using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(ct));
        await using var output = File.Create(file);
        await response.Content.CopyToAsync(output, ct);
    }

    internal static async Task<string> TsharkAsync(string file, params string[] args)
    {
        var r = await HostCommand.RunAsync("tshark", ["-r", file, .. args.Where(a => a != "-r" && a != file)], TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0, $"tshark -r {file} {string.Join(' ', args)}: {r.Stderr}");
        return r.Stdout;
    }

    private static async Task<List<PcapngStatistics>> StatisticsAsync(string file, CancellationToken ct)
    {
        await using var input = File.OpenRead(file);
        var found = new List<PcapngStatistics>();
        await foreach (var block in new PcapngReader(input).ReadAsync(ct))
        {
            if (block is PcapngStatistics s)
            {
                found.Add(s);
            }
        }
        return found;
    }

    /// <summary>The tcpdump processes in the namespace (ip netns pids, then each process's name).</summary>
    internal static async Task<List<int>> TcpdumpsAsync(string netns)
    {
        var pids = await HostCommand.RunAsync("ip", "netns", "pids", netns);
        return pids.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(int.Parse)
            .Where(p => File.Exists($"/proc/{p}/comm") && ReadComm(p) == "tcpdump")
            .ToList();
    }

    private static string ReadComm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }
}
