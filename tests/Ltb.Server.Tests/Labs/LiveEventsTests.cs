using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Ltb.Server.Api;
using Ltb.Server.Data;
using Ltb.Server.Events;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ltb.Server.Tests.Labs;

/// <summary>An open Server-Sent Events stream of the API, read event by event.</summary>
public sealed class EventStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly IAsyncEnumerator<SseItem<string>> _items;

    private EventStream(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _items = SseParser.Create(body).EnumerateAsync().GetAsyncEnumerator();
    }

    public static async Task<EventStream> OpenAsync(HttpClient client, string path, string? lastEventId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new EventStream(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>The next event (type, its data, its id), or a failure after <paramref name="timeout"/>.</summary>
    public async Task<(string Type, LabLiveEventDto? Data, string Id)> NextAsync(TimeSpan timeout)
    {
        var next = _items.MoveNextAsync().AsTask();
        if (await Task.WhenAny(next, Task.Delay(timeout)) != next || !await next)
        {
            throw new Xunit.Sdk.XunitException($"no event within {timeout}");
        }
        var item = _items.Current;
        var data = item.EventType is "lab" or "task" or "log" or "node" ? JsonSerializer.Deserialize<LabLiveEventDto>(item.Data, JsonSerializerOptions.Web) : null;
        return (item.EventType, data, item.EventId ?? "");
    }

    public async ValueTask DisposeAsync()
    {
        _response.Dispose(); // the connection goes: the server sees the client leave
        try
        {
            await _items.DisposeAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or HttpRequestException)
        {
        }
    }
}

/// <summary>Live events (SSE) on a real server: a real lab's destruction, access, resume, dropped clients.</summary>
public sealed class LiveEventsTests(SqliteServer fixture) : IClassFixture<SqliteServer>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private SqliteServer S
    {
        get
        {
            fixture.Require();
            return fixture;
        }
    }

    [Fact]
    public async Task A_client_sees_running_destroying_removed_while_a_lab_is_destroyed_and_leaves_nothing_behind()
    {
        LabTestSupport.RequireDocker();
        var s = S;
        var hub = s.Server.Services.GetRequiredService<LiveEventHub>();
        await using var lab = await ServerLab.RunAsync(s.Admin, LabTestSupport.TinyLab(ServerFixture.Unique("sse")));
        var states = new List<string>();
        var taskStates = new List<string>();
        var logs = new List<string>();
        await using (var stream = await EventStream.OpenAsync(s.Admin, $"/api/v1/labs/{lab.Id}/events"))
        {
            Assert.Equal(1, hub.SubscriberCount);
            var removal = await lab.StartDestroyAsync();
            while (states.LastOrDefault() != "removed")
            {
                var (type, e, _) = await stream.NextAsync(LabTestSupport.TaskTimeout);
                switch (type)
                {
                    case "lab":
                        states.Add(e!.State!);
                        break;
                    case "task" when e!.Task == removal.Task.Id:
                        taskStates.Add(e.State!);
                        break;
                    case "log":
                        logs.Add(e!.Message!);
                        break;
                }
            }
            Assert.Equal(["running", "destroying", "removed"], states);
            Assert.Contains("running", taskStates);
            Assert.Contains(logs, l => l.StartsWith("removal requested by admin", StringComparison.Ordinal));
            // The task's last save (succeeded) and "lab destroyed" come with or right after "removed".
            while (!taskStates.Contains("succeeded"))
            {
                var (type, e, _) = await stream.NextAsync(Wait);
                if (type == "task" && e!.Task == removal.Task.Id)
                {
                    taskStates.Add(e.State!);
                }
            }
        }
        await WaitForNoSubscriberAsync(hub);
        await lab.AssertNoLeftoversAsync();
    }

    [Fact]
    public async Task Another_students_token_gets_404_events_go_only_to_who_may_see_them_and_dropped_clients_unsubscribe()
    {
        var s = S;
        var hub = s.Server.Services.GetRequiredService<LiveEventHub>();
        var a = await s.CreateUserAsync("a");
        var b = await s.CreateUserAsync("b");
        using var clientA = await s.LoginAsync(a.UserName, ServerFixture.UserPassword);
        using var clientB = await s.LoginAsync(b.UserName, ServerFixture.UserPassword);
        var labA = await SeedLabAsync(a.Id);
        var labB = await SeedLabAsync(b.Id);
        var first = await AddEventAsync(labA, "before 1");
        await AddEventAsync(labA, "before 2");

        using (var refused = await clientB.GetAsync($"/api/v1/labs/{labA}/events"))
        {
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        }
        await using (var streamA = await EventStream.OpenAsync(clientA, $"/api/v1/labs/{labA}/events", first.ToString()))
        await using (var allB = await EventStream.OpenAsync(clientB, "/api/v1/events"))
        {
            Assert.Equal(2, hub.SubscriberCount);
            // First the lab as it is, then the event-log lines after Last-Event-ID, then what happens.
            var (type, e, _) = await streamA.NextAsync(Wait);
            Assert.Equal(("lab", "failed"), (type, e!.State));
            (type, e, var id) = await streamA.NextAsync(Wait);
            Assert.Equal(("log", "before 2"), (type, e!.Message));
            Assert.Equal((first + 1).ToString(), id);
            await AddEventAsync(labA, "for A only");
            await AddEventAsync(labB, "for B");
            (type, e, _) = await streamA.NextAsync(Wait);
            Assert.Equal(("log", "for A only", labA), (type, e!.Message, e.Lab));
            // B's stream of all labs skips A's lab: B's own event is the first it gets.
            (type, e, _) = await allB.NextAsync(Wait);
            Assert.Equal(("log", "for B", labB), (type, e!.Message, e.Lab));
        }
        await WaitForNoSubscriberAsync(hub);
    }

    [Fact]
    public async Task Events_cross_replicas_through_postgresql_notify()
    {
        var (database, unavailable) = await PostgresTestDatabase.CreateAsync();
        Prerequisite.Require(database is not null, unavailable ?? "PostgreSQL");
        await using var _ = database!;
        LiveEventHub one = new(), two = new();
        using var stop = new CancellationTokenSource();
        var relays = new[] { one, two }.Select(h => new PostgresEventRelay(h, database!.ConnectionString, NullLogger<PostgresEventRelay>.Instance)).ToList();
        foreach (var r in relays)
        {
            await r.StartAsync(stop.Token);
        }
        try
        {
            using var onTwo = two.Subscribe(Guid.NewGuid(), _ => true)!;
            using var onOne = one.Subscribe(Guid.NewGuid(), _ => true)!;
            var lab = Guid.NewGuid();
            // The listener may still be connecting: publish until the other replica hears.
            using var timeout = new CancellationTokenSource(Wait);
            LiveEvent? heard = null;
            var count = 0;
            for (var n = 0; heard is null; n++, count++)
            {
                one.Publish(new LiveEvent(new LabLiveEventDto("log", lab, "x", DateTimeOffset.UtcNow) { Message = new string('m', 6000) + n }, Guid.NewGuid(), null));
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
                wait.CancelAfter(TimeSpan.FromMilliseconds(500));
                try
                {
                    heard = await onTwo.Reader.ReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!timeout.IsCancellationRequested)
                {
                }
            }
            Assert.Equal(lab, heard!.Data.Lab);
            Assert.StartsWith("mmm", heard.Data.Message); // cut to fit a notification, not lost
            // The publishing replica delivers its own events once (locally), not again from the database.
            await Task.Delay(1000);
            var local = 0;
            while (onOne.Reader.TryRead(out var e))
            {
                local += e is null ? 0 : 1;
            }
            Assert.Equal(count, local);
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var r in relays)
            {
                await r.StopAsync(CancellationToken.None);
            }
        }
    }

    private static async Task WaitForNoSubscriberAsync(LiveEventHub hub)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (hub.SubscriberCount != 0 && DateTime.UtcNow < until)
        {
            await Task.Delay(50);
        }
        Assert.Equal(0, hub.SubscriberCount);
    }

    private async Task<Guid> SeedLabAsync(Guid owner)
    {
        await using var scope = S.Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        var host = await db.LabHosts.FirstAsync(h => h.IsLocal);
        var id = Guid.NewGuid();
        var now = DateTimeOffset.UtcNow;
        db.Labs.Add(new Lab
        {
            Id = id, Name = ServerFixture.Unique("ev"), RuntimeName = Ltb.Server.Labs.LabNames.Runtime("ev", id), OwnerId = owner, HostId = host.Id,
            State = LabLifecycle.Failed, Error = "seeded", CreatedAt = now, UpdatedAt = now,
        });
        await db.SaveChangesAsync();
        return id;
    }

    /// <summary>Adds a line to a lab's event log through the store, as the server does (a fresh context: the lab is not tracked).</summary>
    private async Task<long> AddEventAsync(Guid lab, string message)
    {
        await using var scope = S.Server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        var row = new LabEvent { LabId = lab, At = DateTimeOffset.UtcNow, Level = LabEventLevel.Info, Message = message };
        db.LabEvents.Add(row);
        await db.SaveChangesAsync();
        return row.Id;
    }
}
