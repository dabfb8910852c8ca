using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using Ltb.Server.Consoles;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// Issue #12, consoles through the API: a student's console of an FRR node (vtysh, the TTY's size and resize), a
/// reconnect that replays the earlier output, an instructor's read-only view, and who is refused (another student, an
/// instructor typing, a used ticket). One lab for the whole story: an FRR node takes a while to start.
/// </summary>
public sealed class ConsoleTests(SqliteServer server) : IClassFixture<SqliteServer>
{
    [Fact]
    public async Task A_student_works_in_an_frr_console_reattaches_to_it_and_an_instructor_watches_read_only()
    {
        LabTestSupport.RequireDocker();
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var student = await server.CreateUserAsync("cs");
        var instructor = await server.CreateUserAsync("ci", "instructor");
        var other = await server.CreateUserAsync("co");
        var group = await server.CreateGroupAsync("cg", student.Id, instructor.Id);
        using var owner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        using var teacher = await server.LoginAsync(instructor.UserName, ServerFixture.UserPassword);
        using var stranger = await server.LoginAsync(other.UserName, ServerFixture.UserPassword);
        var name = ServerFixture.Unique("con");
        var form = LabTestSupport.Upload($$"""
            name: {{name}}
            topology:
              nodes:
                r1: {kind: frr, image: "ltb/frr:latest"}
            """);
        form.Add(new StringContent(group.Id.ToString()), "groupId");
        await using var lab = await ServerLab.RunAsync(owner, form);
        var nodes = $"/api/v1/labs/{lab.Id}/nodes/r1/console";

        Guid sessionId;
        await using (var console = await ExecSocketClient.OpenConsoleAsync(server.BaseAddress, await TicketAsync(owner, nodes, new()), "&rows=30&cols=100"))
        {
            sessionId = await console.SessionAsync();
            await console.TypeAsync("vtysh -c \"show version\"\n");
            await console.WaitForAsync("FRRouting");
            await console.TypeAsync("stty size\n");
            await console.WaitForAsync("30 100");
            await console.ControlAsync(new ExecSocketControl("resize", 40, 120));
            await console.TypeAsync("stty size\n");
            await console.WaitForAsync("40 120");

            await using (var view = await ExecSocketClient.OpenConsoleAsync(server.BaseAddress,
                await TicketAsync(teacher, nodes, new ConsoleTicketRequest("watch", sessionId)), ""))
            {
                Assert.Equal(sessionId, await view.SessionAsync());
                await console.TypeAsync("echo marker-$((6*7))\n");
                await view.WaitForAsync("marker-42");
                await view.TypeAsync("echo typed-by-instructor\n");
                await view.WaitForErrorAsync("read-only");
                await console.TypeAsync("echo still-$((1+1))\n");
                await console.WaitForAsync("still-2");
                Assert.DoesNotContain("typed-by-instructor", console.Output);

                var sessions = await Http.ReadAsync<List<ConsoleSessionDto>>(await owner.GetAsync($"{nodes}/sessions", ct), 200);
                var listed = Assert.Single(sessions);
                Assert.Equal(sessionId, listed.Id);
                Assert.True(listed.Attached);
                Assert.Equal([instructor.UserName], listed.Watchers);
            }
            // The connection drops without a goodbye: the session waits for a reattach.
            console.Abort();
        }

        var ticket = await TicketAsync(owner, nodes, new ConsoleTicketRequest(Session: sessionId));
        await using (var again = await ExecSocketClient.OpenConsoleAsync(server.BaseAddress, ticket, ""))
        {
            Assert.Equal(sessionId, await again.SessionAsync());
            await again.WaitForAsync("FRRouting");
            await again.WaitForAsync("marker-42");
            await again.TypeAsync("exit\n");
            Assert.Equal(0, await again.ExitCodeAsync());
        }
        // The ticket was used: a second connection with it is refused before any WebSocket opens.
        Assert.Contains("401", (await Assert.ThrowsAsync<WebSocketException>(() => ExecSocketClient.OpenConsoleAsync(server.BaseAddress, ticket, ""))).Message);

        // Another student sees nothing of the lab; the instructor watches but does not type; nobody reattaches to another's session.
        Assert.Equal(404, (int)(await stranger.PostAsJsonAsync($"{nodes}/tickets", new ConsoleTicketRequest(), ct)).StatusCode);
        Assert.Equal(404, (int)(await stranger.PostAsJsonAsync($"{nodes}/tickets", new ConsoleTicketRequest("watch"), ct)).StatusCode);
        Assert.Equal(403, (int)(await teacher.PostAsJsonAsync($"{nodes}/tickets", new ConsoleTicketRequest(), ct)).StatusCode);
        var bearer = stranger.DefaultRequestHeaders.Authorization!.Parameter!;
        var refused = await Assert.ThrowsAsync<WebSocketException>(() => ExecSocketClient.OpenConsoleAsync(server.BaseAddress, null, $"{nodes}/ws", bearer));
        Assert.Contains("404", refused.Message);

        var audit = await Http.ReadAsync<Paged<AuditEntryDto>>(await server.Admin.GetAsync("/api/v1/audit?action=lab.console&limit=100", ct), 200);
        Assert.Contains(audit.Items, e => e.ActorName == student.UserName && e.Detail!.Contains(sessionId.ToString(), StringComparison.Ordinal));
        await lab.DestroyAsync();
    }

    [Fact]
    public async Task A_console_whose_client_reads_nothing_during_a_flood_is_disconnected_and_another_console_stays_responsive()
    {
        LabTestSupport.RequireDocker();
        server.Require();
        var ct = TestContext.Current.CancellationToken;
        var name = ServerFixture.Unique("cfl");
        await using var lab = await ServerLab.RunAsync(server.Admin, Agents.InteractiveExecTests.OneNode(name));
        var console = $"/api/v1/labs/{lab.Id}/nodes/a/console";

        // A client that starts `yes` and never reads: the server holds a bounded queue for it, then lets it go.
        using var flooded = new ClientWebSocket();
        var url = await TicketAsync(server.Admin, console, new());
        await flooded.ConnectAsync(new Uri(server.BaseAddress.ToString().Replace("http://", "ws://", StringComparison.Ordinal).TrimEnd('/') + url), ct);
        await flooded.SendAsync(Encoding.UTF8.GetBytes("yes\n"), WebSocketMessageType.Binary, true, ct);

        await using var other = await ExecSocketClient.OpenConsoleAsync(server.BaseAddress, await TicketAsync(server.Admin, console, new()), "");
        var otherId = await other.SessionAsync();
        var started = DateTime.UtcNow;
        for (var i = 0; i < 5; i++)
        {
            await other.TypeAsync($"echo round-$(({i}+100))\n");
            await other.WaitForAsync($"round-{i + 100}");
        }
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10), $"5 round trips took {DateTime.UtcNow - started} during the flood");

        var deadline = DateTime.UtcNow + ConsoleSession.SlowClientPatience + TimeSpan.FromSeconds(30);
        List<ConsoleSessionDto> sessions;
        do
        {
            await Task.Delay(500, ct);
            sessions = await Http.ReadAsync<List<ConsoleSessionDto>>(await server.Admin.GetAsync($"{console}/sessions", ct), 200);
        }
        while (sessions.Any(s => s.Id != otherId && s.Attached) && DateTime.UtcNow < deadline);
        // The flooded session stays (for a reattach) without its client; the other one is untouched.
        Assert.Equal(2, sessions.Count);
        Assert.False(sessions.Single(s => s.Id != otherId).Attached);
        Assert.True(sessions.Single(s => s.Id == otherId).Attached);
        await lab.DestroyAsync();
    }

    private static async Task<string> TicketAsync(HttpClient client, string console, ConsoleTicketRequest request)
    {
        var ticket = await Http.ReadAsync<ConsoleTicketResponse>(await client.PostAsJsonAsync($"{console}/tickets", request,
            TestContext.Current.CancellationToken), 200);
        Assert.True(ticket.ExpiresAt <= DateTimeOffset.UtcNow + ConsoleTickets.Lifetime);
        return ticket.Url;
    }

    [Fact]
    public void A_ticket_is_good_once_and_only_until_it_expires()
    {
        var clock = new SteppedClock();
        var tickets = new ConsoleTickets(clock);
        var user = Guid.NewGuid();
        var lab = Guid.NewGuid();
        var first = tickets.Issue(user, "u", lab, "r1", ConsoleMode.Interactive, null)!.Value.Ticket;
        Assert.Equal("r1", tickets.Redeem(first)?.Node);
        Assert.Null(tickets.Redeem(first));
        var late = tickets.Issue(user, "u", lab, "r1", ConsoleMode.Watch, null)!.Value.Ticket;
        clock.Now += ConsoleTickets.Lifetime;
        Assert.Null(tickets.Redeem(late));
        Assert.Null(tickets.Redeem("not-a-ticket"));
        for (var i = 0; i < ConsoleTickets.MaxPerUser; i++)
        {
            Assert.NotNull(tickets.Issue(user, "u", lab, "r1", ConsoleMode.Interactive, null));
        }
        Assert.Null(tickets.Issue(user, "u", lab, "r1", ConsoleMode.Interactive, null));
    }

    private sealed class SteppedClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
