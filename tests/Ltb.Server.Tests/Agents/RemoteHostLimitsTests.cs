using System.Net.Http.Json;
using Ltb.Server.Api;
using Ltb.Server.Tests.Cli;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// Issue #10, "Files" and "Output", through a remote agent: links a node plants in its bind on the lab host are never
/// followed by the agent (nor the controller) on reconfigure and redeploy, a destroyed lab leaves no folder on either;
/// `exec yes` and a flooded log are cut on the agent, before they travel, and neither process grows without bound.
/// </summary>
public sealed class RemoteHostLimitsTests(RemoteHostFixture remote) : IClassFixture<RemoteHostFixture>
{
    private const int Limit = 1 << 20;
    private const long MaxGrowthBytes = 150L << 20;

    private RemoteHostFixture R
    {
        get
        {
            RemoteHostFixture.Require();
            return remote;
        }
    }

    [Fact]
    public async Task Links_planted_on_the_lab_host_are_never_followed_and_a_destroyed_lab_leaves_no_folder_there()
    {
        var r = R;
        var name = "rl" + Guid.NewGuid().ToString("N")[..6];
        using var canary = Canary.Create();
        await using var lab = await ServerLab.RunAsync(r.Admin, LabFolderTests.Form(LabFolderTests.Lab(name), LabFolderTests.Files("one\n"), host: r.HostName),
            r.Host.DockerHost);
        var controllerFolder = Path.Combine(r.ControllerData, "labs", lab.Id.ToString("N"));
        var hostFolder = Path.Combine(r.Host.Folder, "agent", "files", lab.RuntimeName);
        Assert.True(Directory.Exists(hostFolder), hostFolder);
        await canary.PlantAsync(r.Admin, name, lab.RuntimeName, dockerHost: r.Host.DockerHost);
        var withC = LabFolderTests.Lab(name, "    c: {kind: linux, image: \"ltb/tiny:latest\", binds: [\"data:/data\"]}");
        await lab.AgainAsync(LabFolderTests.Form(withC, LabFolderTests.Files("two\n"), true, r.HostName));
        canary.AssertUntouched();
        var c = await Http.ReadAsync<ExecResponse>(await r.Admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec",
            new ExecRequest("c", ["cat", "/data/seed.txt", "/data/sub/inner.txt"])), 200);
        Assert.Equal((0L, "seed\ninner\n"), (c.ExitCode, c.Stdout));
        await lab.AgainAsync(LabFolderTests.Form(withC, LabFolderTests.Files("two\n"), true, r.HostName));
        canary.AssertUntouched();
        await lab.DestroyAsync();
        canary.AssertUntouched();
        Assert.False(Directory.Exists(hostFolder), $"{hostFolder} is left on the host");
        Assert.False(Directory.Exists(controllerFolder), $"{controllerFolder} is left on the controller");
        await lab.AgainAsync(LabFolderTests.Form(LabFolderTests.Lab(name), LabFolderTests.Files("three\n"), host: r.HostName));
        canary.AssertUntouched();
        await lab.DestroyAsync();
        canary.AssertUntouched();
        await lab.AssertNoLeftoversAsync();
        Assert.False(Directory.Exists(hostFolder), $"{hostFolder} is left on the host");
        Assert.False(Directory.Exists(controllerFolder), $"{controllerFolder} is left on the controller");
    }

    [Fact]
    public async Task Exec_yes_and_a_flooded_log_are_cut_on_the_agent_and_neither_process_grows()
    {
        var r = R;
        var name = "ry" + Guid.NewGuid().ToString("N")[..6];
        var yaml = $$"""
            name: {{name}}
            topology:
              nodes:
                a: {kind: linux, image: "ltb/tiny:latest"}
                b: {kind: linux, image: "ltb/tiny:latest", cmd: "sh -c 'yes flood | head -c 3000000; exec sleep 3600'"}
            """;
        await using var lab = await ServerLab.RunAsync(r.Admin, LabFolderTests.Form(yaml, [], host: r.HostName), r.Host.DockerHost);
        var (agent, controller) = (OutputLimitCliTests.Rss(r.AgentPid), OutputLimitCliTests.Rss(r.ControllerPid));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var yes = await Http.ReadAsync<ExecResponse>(await r.Admin.PostAsJsonAsync($"/api/v1/labs/{name}/exec", new ExecRequest("a", ["yes"])), 200);
        clock.Stop();
        var (agentAfter, controllerAfter) = (OutputLimitCliTests.Rss(r.AgentPid), OutputLimitCliTests.Rss(r.ControllerPid));
        TestContext.Current.TestOutputHelper?.WriteLine($"remote exec yes: {clock.Elapsed.TotalSeconds:0.0} s, agent RSS {agent >> 20} -> " +
            $"{agentAfter >> 20} MiB, controller RSS {controller >> 20} -> {controllerAfter >> 20} MiB");
        Assert.Equal((Limit, true, 137L), (yes.Stdout.Length, yes.Truncated, yes.ExitCode));
        Assert.Contains($"output cut at {Limit} bytes", yes.Note);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"exec yes took {clock.Elapsed}");
        Assert.True(agentAfter - agent < MaxGrowthBytes, $"the agent grew from {agent >> 20} MiB to {agentAfter >> 20} MiB");
        Assert.True(controllerAfter - controller < MaxGrowthBytes, $"the controller grew from {controller >> 20} MiB to {controllerAfter >> 20} MiB");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        string text;
        do
        {
            using var logs = await r.Admin.GetAsync($"/api/v1/labs/{name}/nodes/b/logs");
            Assert.Equal(System.Net.HttpStatusCode.OK, logs.StatusCode);
            Assert.Equal(Limit.ToString(System.Globalization.CultureInfo.InvariantCulture), logs.Headers.GetValues(ApiConventions.OutputLimitHeader).Single());
            text = await logs.Content.ReadAsStringAsync();
        }
        while (text.Length < Limit && DateTime.UtcNow < deadline);
        Assert.StartsWith("flood\n", text);
        Assert.EndsWith($"\n[ltb] output cut at {Limit} bytes, the limit per answer (OutputLimitBytes of the tenant policy); ask for the last lines only (tail) or follow\n", text);
        Assert.Equal(Limit, text.IndexOf("\n[ltb] ", StringComparison.Ordinal));
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
    }
}
