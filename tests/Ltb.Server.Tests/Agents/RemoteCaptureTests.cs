using System.Net;
using System.Net.Http.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// Issue #13 on a remote (simulated) host: the capture runs as tcpdump under the host's `ltb agent`, its pcap crosses
/// the agent's gRPC stream (ByteChunk), the controller writes the pcapng; a ping across the captured link is read back
/// by tshark, and a reader that leaves mid-stream leaves no tcpdump on the host.
/// </summary>
public sealed class RemoteCaptureTests(RemoteHostFixture remote) : IClassFixture<RemoteHostFixture>
{
    [Fact]
    public async Task A_link_on_a_remote_host_is_captured_through_the_agent_and_its_tcpdump_ends_with_the_reader()
    {
        RemoteHostFixture.Require();
        var r = remote;
        var ct = TestContext.Current.CancellationToken;
        var name = "rc" + Guid.NewGuid().ToString("N")[..6];
        await using var lab = await ServerLab.RunAsync(r.Admin, LabFolderTests.Form(LabTestSupport.TinyLab(name), [], host: r.HostName), r.Host.DockerHost);
        var netns = $"ltb-{lab.RuntimeName}-a";
        var capture = $"/api/v1/labs/{lab.Id}/capture?interface=a:eth1";
        var folder = Directory.CreateTempSubdirectory("ltb-capture-");
        try
        {
            var file = Path.Combine(folder.FullName, "remote.pcapng");
            var reading = CaptureTests.SaveAsync(r.Admin, $"{capture}&seconds=6&filter=icmp", file, ct);
            await LabTestSupport.WaitForAsync(async () => (await CaptureTests.TcpdumpsAsync(netns)).Count == 1, "a tcpdump in a's namespace");
            var ping = await Http.ReadAsync<ExecResponse>(await r.Admin.PostAsJsonAsync($"/api/v1/labs/{lab.Id}/exec",
                new ExecRequest("a", ["ping", "-c", "2", "-W", "2", "10.0.0.2"]), ct), 200);
            Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);
            await reading;
            var icmp = await CaptureTests.TsharkAsync(file, "-T", "fields", "-e", "frame.interface_name", "-e", "ip.src", "-e", "icmp.type");
            Assert.Contains($"{name}/a:eth1\t10.0.0.1\t8", icmp);
            Assert.Contains($"{name}/a:eth1\t10.0.0.2\t0", icmp);
            await LabTestSupport.WaitForAsync(async () => (await CaptureTests.TcpdumpsAsync(netns)).Count == 0, "no tcpdump after the capture ended");

            using (var response = await r.Admin.GetAsync(capture, HttpCompletionOption.ResponseHeadersRead, ct))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                await using var body = await response.Content.ReadAsStreamAsync(ct);
                await body.ReadExactlyAsync(new byte[4], ct);
                Assert.Single(await CaptureTests.TcpdumpsAsync(netns));
            }
            await LabTestSupport.WaitForAsync(async () => (await CaptureTests.TcpdumpsAsync(netns)).Count == 0, "no tcpdump after the reader left");
            var bad = await r.Admin.GetAsync($"{capture}&filter=ip%20and%20", ct);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("syntax error", await bad.Content.ReadAsStringAsync(ct));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
    }
}
