using System.Net;
using System.Net.Http.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// Issue #13 on the frr01 corpus lab (its links on Open vSwitch bridges): a mirror interface of router1:eth1 created by
/// a mirror task receives both directions of the link's traffic while the link forwards without loss, is listed with
/// the lab, is captured like an interface (tshark reads OSPF hellos of both routers and a ping), is gone after its
/// removal and with the lab. The same lab's capture decoded by tshark for the browser: OSPF and ICMP rows, a display
/// filter `icmp` leaving only ICMP, one packet's protocol tree, the pcapng download; another student is refused.
/// </summary>
public sealed class MirrorAndDecodedCaptureTests(SqliteServer server) : IClassFixture<SqliteServer>
{
    [Fact]
    public async Task A_mirror_of_router1_eth1_sees_the_link_while_it_forwards_and_a_decoded_capture_lists_its_packets()
    {
        LabTestSupport.RequireDocker();
        Prerequisite.Require(HostCommand.Exists("tshark") && HostCommand.Exists("tcpdump"), "tshark and tcpdump on the host");
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var student = await server.CreateUserAsync("mir");
        var other = await server.CreateUserAsync("miro");
        using var owner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        using var stranger = await server.LoginAsync(other.UserName, ServerFixture.UserPassword);
        var form = CaptureTests.Frr01Upload(ServerFixture.Unique("mir"));
        form.Add(new StringContent("ovs"), "linkBackend");
        await using var lab = await ServerLab.RunAsync(owner, form);
        var mirrorNs = $"ltb-{lab.RuntimeName}-~mirrors";
        var labPath = $"/api/v1/labs/{lab.Id}";

        // A stranger may not mirror; a bad name is refused before any task.
        var refused = await stranger.PostAsJsonAsync($"{labPath}/mirrors", new CreateMirrorRequest("router1", "eth1"), ct);
        Assert.Contains(refused.StatusCode, new[] { HttpStatusCode.NotFound, HttpStatusCode.Forbidden });
        await Http.ProblemAsync(await owner.PostAsJsonAsync($"{labPath}/mirrors", new CreateMirrorRequest("router1", "eth1", "-bad"), ct), 400);

        var mirror = await MirrorTaskAsync(owner, await owner.PostAsJsonAsync($"{labPath}/mirrors", new CreateMirrorRequest("router1", "eth1"), ct));
        Assert.Equal("succeeded", mirror.State);
        var listed = Assert.Single(await Http.ReadAsync<List<LabMirrorDto>>(await owner.GetAsync($"{labPath}/mirrors", ct), 200));
        Assert.Equal(new LabMirrorDto("router1-eth1", "router1", "eth1"), listed);
        Assert.Contains(listed, (await Http.ReadAsync<LabDto>(await owner.GetAsync(labPath, ct), 200)).Mirrors);
        Assert.Contains(mirrorNs, (await HostCommand.RunAsync("ip", "netns", "list")).Stdout);
        // A second mirror of the same name: the lab says which link end has it.
        var twice = await Http.ProblemAsync(await owner.PostAsJsonAsync($"{labPath}/mirrors", new CreateMirrorRequest("router2", "eth1", "router1-eth1"), ct), 409);
        Assert.Contains("router1:eth1", twice.GetRawText());

        // The mirror captured while router1 pings router2 fifty times: no loss on the link, both directions on the mirror.
        var folder = Directory.CreateTempSubdirectory("ltb-mirror-");
        try
        {
            var file = Path.Combine(folder.FullName, "mirror.pcapng");
            var reading = CaptureTests.SaveAsync(owner, $"{labPath}/capture?mirror=router1-eth1&seconds=16", file, ct);
            var decoded = await Http.ReadAsync<DecodedCaptureDto>(await owner.PostAsJsonAsync($"{labPath}/captures",
                new DecodedCaptureRequest(["router1:eth1"], Seconds: 16), ct), 201);
            var icmpOnly = await Http.ReadAsync<DecodedCaptureDto>(await owner.PostAsJsonAsync($"{labPath}/captures",
                new DecodedCaptureRequest(Mirrors: ["router1-eth1"], DisplayFilter: "icmp", Seconds: 16), ct), 201);
            await Task.Delay(2000, ct);
            var ping = await Http.ReadAsync<ExecResponse>(await owner.PostAsJsonAsync($"{labPath}/exec",
                new ExecRequest("router1", ["ping", "-c", "50", "-i", "0.1", "-W", "2", "192.168.1.2"]), ct), 200);
            Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);
            Assert.Contains("50 packets transmitted, 50 received, 0% packet loss", ping.Stdout);
            await reading;

            var icmp = (await CaptureTests.TsharkAsync(file, "-Y", "icmp", "-T", "fields", "-e", "ip.src", "-e", "icmp.type"))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(50, icmp.Count(l => l == "192.168.1.1\t8"));
            Assert.Equal(50, icmp.Count(l => l == "192.168.1.2\t0"));
            var ospf = await CaptureTests.TsharkAsync(file, "-Y", "ospf.msg.hello", "-T", "fields", "-e", "ip.src");
            Assert.Contains("192.168.1.1", ospf);
            Assert.Contains("192.168.1.2", ospf);
            Assert.Contains($"{lab.Name}/router1-eth1 (mirror of router1)", await CaptureTests.TsharkAsync(file, "-T", "fields", "-e", "frame.interface_name", "-c", "1"));

            await AssertDecodedAsync(owner, stranger, labPath, decoded.Id, icmpOnly.Id, ct);
        }
        finally
        {
            folder.Delete(recursive: true);
        }

        // Removal by name: listed no more, its namespace gone, router1 keeps no end of it.
        Assert.Equal("succeeded", (await MirrorTaskAsync(owner, await owner.DeleteAsync($"{labPath}/mirrors/router1-eth1", ct))).State);
        Assert.Empty(await Http.ReadAsync<List<LabMirrorDto>>(await owner.GetAsync($"{labPath}/mirrors", ct), 200));
        Assert.DoesNotContain(mirrorNs, (await HostCommand.RunAsync("ip", "netns", "list")).Stdout);
        Assert.DoesNotContain("mirror", (await HostCommand.RunAsync("ip", "-n", $"ltb-{lab.RuntimeName}-router1", "-d", "link")).Stdout);
        await Http.ProblemAsync(await owner.DeleteAsync($"{labPath}/mirrors/router1-eth1", ct), 404);

        // One more, then the lab goes: nothing of either is left.
        Assert.Equal("succeeded", (await MirrorTaskAsync(owner, await owner.PostAsJsonAsync($"{labPath}/mirrors",
            new CreateMirrorRequest("router2", "eth1", "r2"), ct))).State);
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
        Assert.DoesNotContain(mirrorNs, (await HostCommand.RunAsync("ip", "netns", "list")).Stdout);
    }

    /// <summary>The decoded list: OSPF and ICMP rows; the display filter's list ICMP only; a protocol tree; the download.</summary>
    private static async Task AssertDecodedAsync(HttpClient owner, HttpClient stranger, string labPath, Guid all, Guid icmpOnly, CancellationToken ct)
    {
        var rows = await RowsAsync(owner, labPath, all, ct);
        Assert.Contains(rows, r => r.Protocol == "OSPF" && r.Source == "192.168.1.2" && r.Info.Contains("Hello", StringComparison.Ordinal));
        var request = Assert.IsType<DecodedPacketDto>(rows.FirstOrDefault(r => r.Protocol == "ICMP" && r.Info.Contains("request", StringComparison.Ordinal)));
        Assert.Contains(rows, r => r.Protocol == "ICMP" && r.Source == "192.168.1.2" && r.Info.Contains("reply", StringComparison.Ordinal));
        Assert.All(rows, r => Assert.EndsWith("/router1:eth1", r.Interface, StringComparison.Ordinal));

        var filtered = await RowsAsync(owner, labPath, icmpOnly, ct);
        Assert.Equal(100, filtered.Count);
        Assert.All(filtered, r => Assert.Equal("ICMP", r.Protocol));

        var tree = await Http.ReadAsync<PacketTreeDto>(await owner.GetAsync($"{labPath}/captures/{all}/packets/{request.Number}", ct), 200);
        Assert.Contains(tree.Lines, l => l.StartsWith("Internet Control Message Protocol", StringComparison.Ordinal));
        Assert.Contains(tree.Lines, l => l.Contains("Type: 8 (Echo (ping) request)", StringComparison.Ordinal));

        var download = await owner.GetAsync($"{labPath}/captures/{all}/pcapng", ct);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(file, await download.Content.ReadAsByteArrayAsync(ct), ct);
            Assert.Contains("192.168.1.1\t8", await CaptureTests.TsharkAsync(file, "-Y", "icmp", "-T", "fields", "-e", "ip.src", "-e", "icmp.type"));
        }
        finally
        {
            File.Delete(file);
        }

        // Bad display filter: tshark's own message; another student sees no capture of this lab.
        var bad = await Http.ProblemAsync(await owner.PostAsJsonAsync($"{labPath}/captures",
            new DecodedCaptureRequest(["router1:eth1"], DisplayFilter: "icmpx"), ct), 400);
        Assert.Contains("icmpx is neither a field nor a protocol name", bad.GetRawText());
        var foreign = await stranger.GetAsync($"{labPath}/captures/{all}/packets", ct);
        Assert.Contains(foreign.StatusCode, new[] { HttpStatusCode.NotFound, HttpStatusCode.Forbidden });
        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"{labPath}/captures/{all}", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.GetAsync($"{labPath}/captures/{all}", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"{labPath}/captures/{icmpOnly}", ct)).StatusCode);
    }

    /// <summary>Every row of a capture, read page by page until it ended (its 16 s) and nothing more came.</summary>
    private static async Task<List<DecodedPacketDto>> RowsAsync(HttpClient client, string labPath, Guid capture, CancellationToken ct)
    {
        var rows = new List<DecodedPacketDto>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            var page = await Http.ReadAsync<DecodedPacketsDto>(await client.GetAsync(
                $"{labPath}/captures/{capture}/packets?after={(rows.Count == 0 ? 0 : rows[^1].Number)}&wait=5", ct), 200);
            rows.AddRange(page.Packets);
            if (page.Capture.State == "ended" && page.Packets.Count == 0)
            {
                return rows;
            }
        }
        Assert.Fail($"capture {capture} did not end within 90 s ({rows.Count} rows)");
        return rows;
    }

    private static async Task<LabTaskDto> MirrorTaskAsync(HttpClient client, HttpResponseMessage response)
    {
        var accepted = await Http.ReadAsync<LabTaskAccepted>(response, 202);
        Assert.Equal("mirror", accepted.Task.Kind);
        var done = await LabTestSupport.WaitAsync(client, accepted.Task.Id);
        Assert.True(done.State == "succeeded", done.Error);
        return done;
    }
}
