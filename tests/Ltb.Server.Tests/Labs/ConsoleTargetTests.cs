using System.Net.Http.Json;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// Issue #12, console targets with real servers in the nodes: the sshhost node's own OpenSSH server (its type's console,
/// logged in with the type's credentials root/ltb; a resize reaches the PTY; a wrong password is said in the stream) and
/// busybox's telnetd in an ltb/tiny node (target=telnet: option negotiation, NAWS). One lab for both.
/// </summary>
public sealed class ConsoleTargetTests(SqliteServer server) : IClassFixture<SqliteServer>
{
    [Fact]
    public async Task Ssh_and_telnet_consoles_reach_the_nodes_own_servers_with_resize_and_clear_errors()
    {
        LabTestSupport.RequireDocker();
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var student = await server.CreateUserAsync("ct");
        using var owner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        await using var lab = await ServerLab.RunAsync(owner, $$"""
            name: {{ServerFixture.Unique("ctg")}}
            topology:
              nodes:
                h1: {kind: sshhost}
                t1: {kind: linux, image: "ltb/tiny:latest", cmd: "busybox telnetd -F -l /bin/sh"}
            """);
        var h1 = $"/api/v1/labs/{lab.Id}/nodes/h1/console";
        var t1 = $"/api/v1/labs/{lab.Id}/nodes/t1/console";

        // The type's console (ssh) with the type's credentials; sshd makes its host keys first, so the first tries may be refused.
        await using (var ssh = await OpenWhenUpAsync(owner, h1, new ConsoleTicketRequest(), "&rows=30&cols=100"))
        {
            var id = await ssh.SessionAsync();
            await ssh.TypeAsync("echo user-$(id -un)-end; echo marker-$((6*7))\n");
            await ssh.WaitForAsync("user-root-end");
            await ssh.WaitForAsync("marker-42");
            await ssh.TypeAsync("stty size\n");
            await ssh.WaitForAsync("30 100");
            await ssh.ControlAsync(new ExecSocketControl("resize", 40, 120));
            await ssh.TypeAsync("stty size\n");
            await ssh.WaitForAsync("40 120");
            var listed = Assert.Single(await Http.ReadAsync<List<ConsoleSessionDto>>(await owner.GetAsync($"{h1}/sessions", ct), 200));
            Assert.Equal((id, "ssh"), (listed.Id, listed.Target));
            await ssh.TypeAsync("exit\n");
            Assert.Equal(0, await ssh.ExitCodeAsync());
        }

        // SSH.NET takes the node's output as it comes: while nobody reads, what does not fit the bounded queue is dropped
        // and the reattached reader is told.
        Guid flooded;
        await using (var flood = await OpenWhenUpAsync(owner, h1, new ConsoleTicketRequest(), ""))
        {
            flooded = await flood.SessionAsync();
            await flood.TypeAsync("sleep 1; yes | head -c 4000000; echo\n");
            flood.Abort();
        }
        await Task.Delay(TimeSpan.FromSeconds(5), ct);
        await using (var again = await ExecSocketClient.OpenConsoleAsync(server.BaseAddress,
            await TicketAsync(owner, h1, new ConsoleTicketRequest(Session: flooded)), ""))
        {
            Assert.Equal(flooded, await again.SessionAsync());
            await again.TypeAsync("echo after-$((3*3))\n");
            await again.WaitForAsync("after-9");
            await again.WaitForAsync("bytes of output dropped while nobody read this console]");
            await again.TypeAsync("exit\n");
            Assert.Equal(0, await again.ExitCodeAsync());
        }

        // A wrong password (the user's own login): the socket says so, naming the node, and closes.
        await using (var wrong = await ExecSocketClient.OpenConsoleAsync(server.BaseAddress,
            await TicketAsync(owner, h1, new ConsoleTicketRequest(Target: "ssh", Username: "root", Password: "not-the-password")), ""))
        {
            await wrong.WaitForErrorAsync("authentication failed");
            Assert.Contains(wrong.Errors, e => e.Contains("node 'h1'", StringComparison.Ordinal));
            Assert.DoesNotContain(wrong.Errors, e => e.Contains("not-the-password", StringComparison.Ordinal));
        }
        // A node without an SSH server: refused, with what to do.
        await using (var refused = await ExecSocketClient.OpenConsoleAsync(server.BaseAddress,
            await TicketAsync(owner, t1, new ConsoleTicketRequest(Target: "ssh", Username: "root", Password: "x")), ""))
        {
            await refused.WaitForErrorAsync("connection refused");
        }

        // telnet by the user's override: busybox telnetd negotiates ECHO, SGA and NAWS.
        await using (var telnet = await OpenWhenUpAsync(owner, t1, new ConsoleTicketRequest(Target: "telnet"), "&rows=30&cols=100"))
        {
            await telnet.SessionAsync();
            await telnet.TypeAsync("echo marker-$((6*7))\n");
            await telnet.WaitForAsync("marker-42");
            await telnet.TypeAsync("stty size\n");
            await telnet.WaitForAsync("30 100");
            await telnet.ControlAsync(new ExecSocketControl("resize", 40, 120));
            await telnet.TypeAsync("stty size\n");
            await telnet.WaitForAsync("40 120");
            Assert.DoesNotContain("\uFFFD", telnet.Output); // no telnet command bytes (255...) left in the output
            await telnet.TypeAsync("exit\n");
            Assert.Equal(0, await telnet.ExitCodeAsync());
        }

        // Choices are checked before anything opens.
        var bad = await owner.PostAsJsonAsync($"{h1}/tickets", new ConsoleTicketRequest(Target: "serial-ish"), ct);
        Assert.Equal(400, (int)bad.StatusCode);
        Assert.Contains("shell, serial, ssh, telnet", await bad.Content.ReadAsStringAsync(ct));
        var loginForTelnet = await owner.PostAsJsonAsync($"{t1}/tickets", new ConsoleTicketRequest(Target: "telnet", Username: "a", Password: "b"), ct);
        Assert.Equal(400, (int)loginForTelnet.StatusCode);
        Assert.Equal(400, (int)(await owner.PostAsJsonAsync($"{h1}/tickets", new ConsoleTicketRequest(Username: "root"), ct)).StatusCode);
        Assert.Equal(400, (int)(await owner.PostAsJsonAsync($"{h1}/tickets", new ConsoleTicketRequest("watch", Target: "ssh"), ct)).StatusCode);
        var bearer = owner.DefaultRequestHeaders.Authorization!.Parameter!;
        Assert.Contains("400", (await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() =>
            ExecSocketClient.OpenConsoleAsync(server.BaseAddress, null, $"{h1}/ws?mode=interactive&target=shell,ssh", bearer))).Message);
        var ticketed = await TicketAsync(owner, h1, new ConsoleTicketRequest());
        Assert.Contains("400", (await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() =>
            ExecSocketClient.OpenConsoleAsync(server.BaseAddress, ticketed, "&target=shell"))).Message);
        // The bearer form (ltb console --target) takes the override too: a shell in the sshhost node.
        await using (var shell = await ExecSocketClient.OpenConsoleAsync(server.BaseAddress, null, $"{h1}/ws?mode=interactive&target=shell", bearer))
        {
            await shell.TypeAsync("echo shell-$((6*7))\n");
            await shell.WaitForAsync("shell-42");
            await shell.TypeAsync("exit\n");
            Assert.Equal(0, await shell.ExitCodeAsync());
        }

        var audit = await Http.ReadAsync<Paged<AuditEntryDto>>(await server.Admin.GetAsync("/api/v1/audit?action=lab.console&limit=100", ct), 200);
        Assert.Contains(audit.Items, e => e.ActorName == student.UserName && e.Detail!.Contains("h1: session", StringComparison.Ordinal)
            && e.Detail.Contains("(ssh)", StringComparison.Ordinal));
        Assert.Contains(audit.Items, e => e.ActorName == student.UserName && e.Detail!.Contains("not opened", StringComparison.Ordinal));
        Assert.DoesNotContain(audit.Items, e => e.Detail?.Contains("not-the-password", StringComparison.Ordinal) == true);
        await lab.DestroyAsync();
    }

    /// <summary>A console of the node once its server answers: a refused connection (the server still starting) is tried again.</summary>
    private async Task<ExecSocketClient> OpenWhenUpAsync(HttpClient owner, string console, ConsoleTicketRequest request, string extra)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var client = await ExecSocketClient.OpenConsoleAsync(server.BaseAddress, await TicketAsync(owner, console, request), extra);
            var started = DateTime.UtcNow;
            while (client.Errors.Count == 0 && !client.Ended && client.Output.Length == 0 && DateTime.UtcNow - started < TimeSpan.FromSeconds(15))
            {
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }
            if (client.Errors is not [var error, ..])
            {
                return client;
            }
            await client.DisposeAsync();
            Assert.True(error.Contains("connection refused", StringComparison.Ordinal) && DateTime.UtcNow < deadline, error);
            await Task.Delay(500, TestContext.Current.CancellationToken);
        }
    }

    private static async Task<string> TicketAsync(HttpClient client, string console, ConsoleTicketRequest request) =>
        (await Http.ReadAsync<ConsoleTicketResponse>(await client.PostAsJsonAsync($"{console}/tickets", request,
            TestContext.Current.CancellationToken), 200)).Url;
}
