using Docker.DotNet.Models;
using Ltb.Runtime.Docker;
using Ltb.Testing;

namespace Ltb.Runtime.Tests.Host;

/// <summary>Proves the prepared host is real: the engine answers, each local image starts, a veth pair carries a ping.</summary>
public sealed class HostSmokeTests : IAsyncLifetime
{
    private readonly DockerEngine _engine = DockerEngine.Connect();
    private readonly List<string> _containers = [];
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var id in _containers)
        {
            await _engine.Client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true });
        }
        _engine.Dispose();
    }

    [Fact]
    public async Task Docker_engine_answers_with_a_usable_api_version()
    {
        var facts = await DescribeOrSkipAsync();
        Assert.True(System.Version.Parse(facts.ApiVersion) >= new System.Version(1, 41), $"API {facts.ApiVersion} is older than 1.41");
        Assert.True(facts.Cpus > 0);
    }

    [Theory]
    [InlineData("ltb/tiny:latest", new[] { "busybox", "true" }, "")]
    [InlineData("ltb/nettools:latest", new[] { "sh", "-c", "ip -V && ping -V && tcpdump --version && iperf3 --version && curl --version" }, "iproute2")]
    [InlineData("wbitt/network-multitool:3.22.2", new[] { "ip", "-V" }, "iproute2")]
    [InlineData("ltb/frr:latest", new[] { "vtysh", "-c", "show version" }, "FRRouting")]
    [InlineData("quay.io/frrouting/frr:10.5.1", new[] { "vtysh", "-c", "show version" }, "FRRouting")]
    public async Task Each_local_image_starts_and_has_its_tools(string image, string[] command, string expected)
    {
        await DescribeOrSkipAsync();
        var id = await StartAsync(image, $"ltb-smoke-{Guid.NewGuid():N}"[..24]);
        ExecResult result = default!;
        // FRR daemons take a moment to come up; vtysh answers once zebra runs, and may hang until then on a busy machine.
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            try
            {
                result = await _engine.ExecAsync(id, command, TimeSpan.FromSeconds(20), Ct);
            }
            catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
            {
                result = new ExecResult(-1, "", "did not finish within 20 s");
            }
            if (result.Succeeded || DateTime.UtcNow > deadline)
            {
                break;
            }
            await Task.Delay(500, Ct);
        }
        Assert.True(result.Succeeded, $"{string.Join(' ', command)} in {image} exited {result.ExitCode}: {result.Stderr}");
        Assert.Contains(expected, result.Stdout + result.Stderr);
    }

    [Fact]
    public async Task Two_containers_joined_by_a_veth_pair_ping_each_other()
    {
        await DescribeOrSkipAsync();
        Prerequisite.RequireRoot();
        var a = await StartAsync("ltb/tiny:latest", $"ltb-smoke-a-{Guid.NewGuid():N}"[..24]);
        var b = await StartAsync("ltb/tiny:latest", $"ltb-smoke-b-{Guid.NewGuid():N}"[..24]);
        var pidA = (await _engine.Client.Containers.InspectContainerAsync(a, Ct)).State!.Pid;
        var pidB = (await _engine.Client.Containers.InspectContainerAsync(b, Ct)).State!.Pid;

        (await HostCommand.RunAsync("ip", "link", "add", "eth1", "netns", $"{pidA}", "type", "veth", "peer", "name", "eth1", "netns", $"{pidB}"))
            .EnsureSuccess("creating the veth pair");
        foreach (var (id, address) in new[] { (a, "10.99.0.1/24"), (b, "10.99.0.2/24") })
        {
            Assert.True((await _engine.ExecAsync(id, ["ip", "addr", "add", address, "dev", "eth1"], TimeSpan.FromSeconds(10), Ct)).Succeeded);
            Assert.True((await _engine.ExecAsync(id, ["ip", "link", "set", "eth1", "up"], TimeSpan.FromSeconds(10), Ct)).Succeeded);
        }

        var ping = await _engine.ExecAsync(a, ["ping", "-c", "3", "-W", "2", "10.99.0.2"], TimeSpan.FromSeconds(30), Ct);
        Assert.True(ping.Succeeded, ping.Stdout + ping.Stderr);
        Assert.Contains("3 packets received", ping.Stdout);
    }

    private async Task<EngineFacts> DescribeOrSkipAsync()
    {
        try
        {
            return await _engine.DescribeAsync(Ct);
        }
        catch (DockerUnavailableException e)
        {
            Prerequisite.Require(false, $"a running Docker engine ({e.Message})");
            throw;
        }
    }

    private async Task<string> StartAsync(string image, string name)
    {
        var images = await _engine.Client.Images.ListImagesAsync(new ImagesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["reference"] = new Dictionary<string, bool> { [image] = true } },
        }, Ct);
        Prerequisite.Require(images.Count > 0, $"the local image {image} (scripts/build-images.sh builds it)");
        var created = await _engine.Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = image,
            Name = name,
            Labels = new Dictionary<string, string> { ["org.ltb.test"] = "smoke" },
            HostConfig = new HostConfig { NetworkMode = "none", CapAdd = ["NET_ADMIN", "NET_RAW"] },
        }, Ct);
        _containers.Add(created.ID);
        await _engine.Client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), Ct);
        return created.ID;
    }
}
