using System.Globalization;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.RegularExpressions;
using Ltb.Server.Tests.Cli;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// Issue #14's VNC display through the server, with real QEMU (TCG here): a VM node labelled `ltb.display: vnc` gets a
/// VGA card and a VNC server on a unix socket of its own (0600, no TCP port anywhere); its display WebSocket carries the
/// raw RFB stream, through which the test does the RFB handshake by hand and gets a framebuffer update; `ltb vnc`
/// offers the same to a local TCP client. Another student is refused, a node without a display says how to give it
/// one, and stopping the node closes the display.
/// </summary>
public sealed partial class VmDisplayTests(SqliteServer server) : IClassFixture<SqliteServer>
{
    private const string TinyVmKernel = "/var/lib/ltb/vm-images/ltb/tinyvm/latest/kernel";

    [GeneratedRegex(@"Listening on 127\.0\.0\.1::(\d+) ")]
    private static partial Regex ListeningLine();

    [Fact]
    public async Task A_vm_with_a_display_answers_rfb_over_the_websocket_and_ltb_vnc_and_nowhere_else()
    {
        LabTestSupport.RequireDocker();
        Prerequisite.Require(File.Exists("/usr/bin/qemu-system-x86_64"), "QEMU (apt-get install qemu-system-x86 qemu-utils)");
        Prerequisite.Require(File.Exists(TinyVmKernel), $"the tiny VM image ({TinyVmKernel}; scripts/build-vm-images.sh builds it)");
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var student = await server.CreateUserAsync("vnc");
        var token = await server.LoginTokenAsync(student.UserName, ServerFixture.UserPassword);
        using var owner = server.WithToken(token);
        var stranger = await server.CreateUserAsync("vncx");
        var strangerToken = await server.LoginTokenAsync(stranger.UserName, ServerFixture.UserPassword);
        await using var lab = await ServerLab.RunAsync(owner, $$$"""
            name: {{{ServerFixture.Unique("vnc")}}}
            topology:
              nodes:
                vm1: {kind: ltb_tinyvm, labels: {ltb.display: vnc}}
                vm2: {kind: ltb_tinyvm}
            """);
        var display = $"/api/v1/labs/{lab.Id}/nodes/vm1/vnc/ws";

        // Over the API's WebSocket, noVNC's way (subprotocol binary): the handshake, ServerInit, a full, drawn update.
        using (var socket = await ConnectAsync(display, token, "binary"))
        {
            Assert.Equal("binary", socket.SubProtocol);
            var (screen, _) = await RfbClient.Over(socket).DrawnScreenAsync("the display WebSocket", ct);
            Assert.Contains("vm1", screen.Name, StringComparison.Ordinal);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", ct);
        }
        await AssertOnlyAUnixSocketAsync(lab.RuntimeName, "vm1");
        await AssertRefusedAsync(lab, display, owner, strangerToken, token);
        await AssertLtbVncAsync(lab, token);

        // A text message is no RFB: the server closes with 1003 and says why.
        using (var socket = await ConnectAsync(display, token, null))
        {
            Assert.Equal(RfbClient.Version, await RfbClient.Over(socket).BannerAsync(ct));
            await socket.SendAsync("hello"u8.ToArray(), WebSocketMessageType.Text, true, ct);
            Assert.Equal(WebSocketCloseStatus.InvalidMessageType, await ClosedWithAsync(socket, ct));
            Assert.Contains("binary messages (RFB) only", socket.CloseStatusDescription, StringComparison.Ordinal);
        }

        // Stopping the node ends its display: the server closes the WebSocket.
        using (var socket = await ConnectAsync(display, token, null))
        {
            Assert.Equal(RfbClient.Version, await RfbClient.Over(socket).BannerAsync(ct));
            Assert.Equal(200, (int)(await owner.PostAsync($"/api/v1/labs/{lab.Id}/nodes/vm1/stop", null, ct)).StatusCode);
            Assert.Equal(WebSocketCloseStatus.NormalClosure, await ClosedWithAsync(socket, ct));
            Assert.Equal("the display ended (the node stopped)", socket.CloseStatusDescription);
        }
    }

    /// <summary>QEMU's VNC server: a unix socket only the host's root may use, no TCP port on the host nor in QEMU's namespace.</summary>
    private static async Task AssertOnlyAUnixSocketAsync(string runtimeName, string node)
    {
        var (pid, vncSocket) = Qemu(runtimeName, node);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(vncSocket));
        var hostListeners = await HostCommand.RunAsync("ss", ["-ltnpH"]);
        Assert.DoesNotContain($"pid={pid},", hostListeners.EnsureSuccess("ss").Stdout, StringComparison.Ordinal);
        var qemuListeners = await HostCommand.RunAsync("nsenter", [$"--net=/proc/{pid}/ns/net", "ss", "-ltnH"]);
        Assert.Equal("", qemuListeners.EnsureSuccess("ss in QEMU's namespace").Stdout.Trim());
    }

    /// <summary>Another student is refused before any WebSocket; a node without a display says how to give it one (API and CLI).</summary>
    private async Task AssertRefusedAsync(ServerLab lab, string display, HttpClient owner, string strangerToken, string token)
    {
        var ct = TestContext.Current.CancellationToken;
        var refused = await Assert.ThrowsAsync<WebSocketException>(() => ConnectAsync(display, strangerToken, null));
        Assert.Contains("404", refused.Message, StringComparison.Ordinal);
        using (var strangerHttp = server.WithToken(strangerToken))
        {
            Assert.Equal(404, (int)(await strangerHttp.GetAsync(display, ct)).StatusCode);
        }

        var none = await owner.GetAsync($"/api/v1/labs/{lab.Id}/nodes/vm2/vnc/ws", ct);
        var problem = await none.Content.ReadAsStringAsync(ct);
        Assert.Equal(409, (int)none.StatusCode);
        Assert.Contains("node 'vm2'", problem, StringComparison.Ordinal);
        Assert.Contains("ltb.display: vnc", problem, StringComparison.Ordinal);
        var noDisplay = await HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), ["vnc", lab.Name, "vm2", "--listen", "127.0.0.1:0"],
            TimeSpan.FromMinutes(3), Env(token));
        Assert.NotEqual(0, noDisplay.ExitCode);
        Assert.Contains("ltb.display: vnc", noDisplay.Stderr, StringComparison.Ordinal);
    }

    /// <summary>`ltb vnc`: a local port any VNC viewer can use; the whole handshake and a drawn update work through it.</summary>
    private async Task AssertLtbVncAsync(ServerLab lab, string token)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var forward = LtbProcess.Start(["vnc", lab.Name, "vm1", "--listen", "127.0.0.1:0"], Env(token), "ltb vnc");
        var port = int.Parse(ListeningLine().Match(await forward.WaitForLineAsync(l => ListeningLine().IsMatch(l), TimeSpan.FromMinutes(3)))
            .Groups[1].Value, CultureInfo.InvariantCulture);
        using var viewer = new TcpClient();
        await viewer.ConnectAsync("127.0.0.1", port, ct);
        await RfbClient.Over(viewer.GetStream()).DrawnScreenAsync("ltb vnc", ct);
    }

    /// <summary>Reads (and drops) what comes until the server's close, within two minutes; answers its status.</summary>
    private static async Task<WebSocketCloseStatus?> ClosedWithAsync(ClientWebSocket socket, CancellationToken ct)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(TimeSpan.FromMinutes(2));
        var buffer = new byte[4096];
        while ((await socket.ReceiveAsync(buffer, wait.Token)).MessageType != WebSocketMessageType.Close)
        {
        }
        return socket.CloseStatus;
    }

    private Task<ClientWebSocket> ConnectAsync(string path, string token, string? subprotocol) =>
        RfbClient.ConnectAsync(server.BaseAddress, path, token, subprotocol, TestContext.Current.CancellationToken);

    private Dictionary<string, string> Env(string token)
    {
        var env = ServeProcess.HomeEnvironment(Directory.CreateTempSubdirectory("ltb-vnc-home-").FullName);
        env["LTB_SERVER"] = server.BaseAddress.ToString();
        env["LTB_TOKEN"] = token;
        return env;
    }

    /// <summary>The QEMU of a node (its -name is guest=ltb-LAB-NODE) and the path of its -vnc unix socket.</summary>
    private static (int Pid, string VncSocket) Qemu(string runtimeName, string node)
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }
            string[] argv;
            try
            {
                argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
            }
            catch (IOException)
            {
                continue;
            }
            if (argv.Contains($"guest=ltb-{runtimeName}-{node},debug-threads=on"))
            {
                var vnc = argv[Array.IndexOf(argv, "-vnc") + 1];
                Assert.StartsWith("unix:", vnc, StringComparison.Ordinal);
                return (pid, vnc["unix:".Length..]);
            }
        }
        throw new InvalidOperationException($"no QEMU of {runtimeName}/{node} runs");
    }
}
