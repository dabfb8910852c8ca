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

        // Over the API's WebSocket, noVNC's way (subprotocol binary): the handshake, ServerInit, a framebuffer update.
        using (var socket = await ConnectAsync(display, token, "binary"))
        {
            Assert.Equal("binary", socket.SubProtocol);
            var rfb = RfbClient.Over(socket);
            var screen = await rfb.HandshakeAsync(ct);
            Assert.True(screen.Width > 0 && screen.Height > 0, $"the screen is {screen.Width}x{screen.Height}");
            Assert.Contains("vm1", screen.Name, StringComparison.Ordinal);
            var update = await rfb.RequestUpdateAsync(screen, ct);
            Assert.True(update.Rectangles >= 1, "the framebuffer update carries no rectangle");
            // The whole screen (a full request), and a drawn one: the firmware's and the kernel's text, not one colour.
            Assert.Equal((long)screen.Width * screen.Height, update.Pixels);
            Assert.True(update.Colours >= 2, $"the {screen.Width}x{screen.Height} screen holds {update.Colours} colour(s): nothing is drawn on it");
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"display '{screen.Name}': {screen.Width}x{screen.Height}, {screen.BytesPerPixel} bytes a pixel; update: {update.Rectangles} rectangle(s), {update.Pixels} pixels, {update.Colours} colour(s)");
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", ct);
        }

        // QEMU's VNC server: a unix socket only the host's root may use, no TCP port on the host nor in QEMU's namespace.
        var (pid, vncSocket) = Qemu(lab.RuntimeName, "vm1");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(vncSocket));
        var hostListeners = await HostCommand.RunAsync("ss", ["-ltnpH"]);
        Assert.DoesNotContain($"pid={pid},", hostListeners.EnsureSuccess("ss").Stdout, StringComparison.Ordinal);
        var qemuListeners = await HostCommand.RunAsync("nsenter", [$"--net=/proc/{pid}/ns/net", "ss", "-ltnH"]);
        Assert.Equal("", qemuListeners.EnsureSuccess("ss in QEMU's namespace").Stdout.Trim());

        // Another student sees nothing of the lab: refused before any WebSocket.
        var refused = await Assert.ThrowsAsync<WebSocketException>(() => ConnectAsync(display, strangerToken, null));
        Assert.Contains("404", refused.Message, StringComparison.Ordinal);
        using (var strangerHttp = server.WithToken(strangerToken))
        {
            Assert.Equal(404, (int)(await strangerHttp.GetAsync(display, ct)).StatusCode);
        }

        // A node without a display: a 409 naming it and how to give it one (also what `ltb vnc` prints).
        var none = await owner.GetAsync($"/api/v1/labs/{lab.Id}/nodes/vm2/vnc/ws", ct);
        var problem = await none.Content.ReadAsStringAsync(ct);
        Assert.Equal(409, (int)none.StatusCode);
        Assert.Contains("node 'vm2'", problem, StringComparison.Ordinal);
        Assert.Contains("ltb.display: vnc", problem, StringComparison.Ordinal);
        var cliEnv = Env(token);
        var noDisplay = await HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), ["vnc", lab.Name, "vm2", "--listen", "127.0.0.1:0"],
            TimeSpan.FromMinutes(3), cliEnv);
        Assert.NotEqual(0, noDisplay.ExitCode);
        Assert.Contains("ltb.display: vnc", noDisplay.Stderr, StringComparison.Ordinal);

        // `ltb vnc`: a local port any VNC viewer can use; the whole handshake works through it.
        await using (var forward = LtbProcess.Start(["vnc", lab.Name, "vm1", "--listen", "127.0.0.1:0"], cliEnv, "ltb vnc"))
        {
            var port = int.Parse(ListeningLine().Match(await forward.WaitForLineAsync(l => ListeningLine().IsMatch(l), TimeSpan.FromMinutes(3)))
                .Groups[1].Value, CultureInfo.InvariantCulture);
            using var viewer = new TcpClient();
            await viewer.ConnectAsync("127.0.0.1", port, ct);
            var rfb = RfbClient.Over(viewer.GetStream());
            var screen = await rfb.HandshakeAsync(ct);
            var update = await rfb.RequestUpdateAsync(screen, ct);
            Assert.Equal((long)screen.Width * screen.Height, update.Pixels);
            Assert.True(update.Colours >= 2, $"through ltb vnc the screen holds {update.Colours} colour(s)");
        }

        // Stopping the node ends its display: the server closes the WebSocket.
        using (var socket = await ConnectAsync(display, token, null))
        {
            Assert.Equal(RfbClient.Version, await RfbClient.Over(socket).BannerAsync(ct));
            Assert.Equal(200, (int)(await owner.PostAsync($"/api/v1/labs/{lab.Id}/nodes/vm1/stop", null, ct)).StatusCode);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(TimeSpan.FromMinutes(2));
            var buffer = new byte[4096];
            while ((await socket.ReceiveAsync(buffer, wait.Token)).MessageType != WebSocketMessageType.Close)
            {
            }
            Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        }
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
