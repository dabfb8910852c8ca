using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;

namespace Ltb.Server.Tests.Agents;

/// <summary>
/// Issue #11, interactive exec through the API's WebSocket: size, resize, ^C, 10 MiB of stdin, signals, the exit code;
/// a user who may not operate the lab is refused before any WebSocket opens. On a remote (simulated) host it passes the
/// controller's WebSocket, the agent's bidirectional gRPC stream and Docker's exec with stdin and a TTY; on the local
/// host the runtime's exec directly.
/// </summary>
public sealed class InteractiveExecTests(RemoteHostFixture remote) : IClassFixture<RemoteHostFixture>
{
    private RemoteHostFixture R
    {
        get
        {
            RemoteHostFixture.Require();
            return remote;
        }
    }

    [Fact]
    public async Task A_tty_follows_its_size_and_resize_passes_ctrl_c_and_10_MiB_of_stdin_arrive_and_exit_codes_come_back()
    {
        var r = R;
        var name = "ix" + Guid.NewGuid().ToString("N")[..6];
        await using var lab = await ServerLab.RunAsync(r.Admin, LabFolderTests.Form(OneNode(name), [], host: r.HostName), r.Host.DockerHost);
        await ExerciseAsync(r.Url, r.Admin, name);
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
    }

    internal static string OneNode(string name) => $$"""
        name: {{name}}
        topology:
          nodes:
            a: {kind: linux, image: "ltb/tiny:latest"}
        """;

    /// <summary>The scenario on a running lab <paramref name="name"/> with one node a, as the admin of the server at <paramref name="url"/>.</summary>
    internal static async Task ExerciseAsync(string url, HttpClient admin, string name)
    {
        var token = admin.DefaultRequestHeaders.Authorization!.Parameter!;
        await using (var shell = await ExecSocketClient.OpenExecAsync(url, token, name, "a", ["sh"], "&tty=true&rows=33&cols=101"))
        {
            await shell.TypeAsync("stty size\n");
            await shell.WaitForAsync("33 101");
            await shell.ControlAsync(new ExecSocketControl("resize", 40, 120));
            await shell.TypeAsync("stty size\n");
            await shell.WaitForAsync("40 120");
            await shell.TypeAsync("sleep 60; echo slept\n");
            await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
            await shell.TypeAsync("\u0003");
            await shell.TypeAsync("echo rc=$?\n");
            await shell.WaitForAsync("rc=130");
            await shell.TypeAsync("exit 7\n");
            Assert.Equal(7, await shell.ExitCodeAsync());
            // The echoed command line holds "echo slept"; the sleep was interrupted, so no line is "slept" itself.
            Assert.DoesNotContain("\r\nslept", shell.Output);
        }

        var data = RandomNumberGenerator.GetBytes(10 << 20);
        await using (var sum = await ExecSocketClient.OpenExecAsync(url, token, name, "a", ["sha256sum"], ""))
        {
            for (var i = 0; i < data.Length; i += ExecSocketFrames.MaxMessageBytes)
            {
                await sum.SendAsync(data.AsMemory(i, Math.Min(ExecSocketFrames.MaxMessageBytes, data.Length - i)));
            }
            await sum.ControlAsync(new ExecSocketControl("eof"));
            Assert.Equal(0, await sum.ExitCodeAsync());
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)) + "  -", sum.Output.Trim());
        }

        await using (var trapped = await ExecSocketClient.OpenExecAsync(url, token, name, "a",
            ["sh", "-c", "trap 'echo got-int; exit 42' INT; echo ready; while :; do sleep 1; done"], ""))
        {
            await trapped.WaitForAsync("ready");
            await trapped.ControlAsync(new ExecSocketControl("signal", Signal: "INT"));
            Assert.Equal(42, await trapped.ExitCodeAsync());
            Assert.Contains("got-int", trapped.Output);
        }

        // Another user (a student) may not operate the admin's lab: refused like the API (404) before any upgrade.
        var student = "st" + Guid.NewGuid().ToString("N")[..8];
        await Http.EnsureAsync(await admin.PostAsJsonAsync("/api/v1/users", new CreateUserRequest(student, "Student-pass-1234567",
            Roles: ["student"])), 201, "create a student");
        using var anonymous = new HttpClient { BaseAddress = new Uri(url) };
        var login = await Http.ReadAsync<LoginResponse>(await anonymous.PostAsJsonAsync("/api/v1/auth/login",
            new LoginRequest(student, "Student-pass-1234567")), 200);
        var refused = await Assert.ThrowsAsync<WebSocketException>(() => ExecSocketClient.OpenExecAsync(url, login.Token, name, "a", ["sh"], ""));
        Assert.Contains("404", refused.Message);
    }
}

/// <summary>The same on the local host (the server's own runtime, no agent between).</summary>
public sealed class LocalInteractiveExecTests(SqliteServer server) : IClassFixture<SqliteServer>
{
    [Fact]
    public async Task A_tty_follows_its_size_and_resize_passes_ctrl_c_and_10_MiB_of_stdin_arrive_and_exit_codes_come_back()
    {
        LabTestSupport.RequireDocker();
        server.Require();
        var name = ServerFixture.Unique("ixl");
        await using var lab = await ServerLab.RunAsync(server.Admin, InteractiveExecTests.OneNode(name));
        await InteractiveExecTests.ExerciseAsync(server.BaseAddress.ToString().TrimEnd('/'), server.Admin, name);
        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
    }
}
