using System.Collections.Concurrent;
using System.Text.Json;
using Ltb.Server.Auth;
using Ltb.Server.Data;
using Ltb.Server.Events;
using Ltb.Server.Labs;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>
/// Live events as Server-Sent Events (docs/api.md "Live events"): GET /api/v1/labs/{lab}/events (one lab, read access
/// like GET /labs/{lab}) and GET /api/v1/events (every lab the caller may see). Every event passes the lab authorizer
/// (on the lab's owner and group, which the event carries), also after the stream opened. The stream subscribes before
/// it reads anything, so nothing falls between the first answer and the live events; it sends a keep-alive comment every
/// <see cref="KeepAlive"/>, ends after <see cref="MaxLifetime"/> (clients reconnect with Last-Event-ID, signed in again),
/// and unsubscribes the moment the client goes away.
/// </summary>
public static partial class LabsEndpoints
{
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(15);
    private const int MaxReplay = 500;

    private static void MapEventStreams(RouteGroupBuilder labs, RouteGroupBuilder api)
    {
        labs.MapGet("/{lab}/events", LabEventsAsync).WithName("StreamLabEvents").Produces<LabLiveEventDto>(StatusCodes.Status200OK, "text/event-stream")
            .WithSummary("The lab's live events as Server-Sent Events (lab state, task progress, event log, node state); Last-Event-ID resumes the event log");
        api.MapGet("/events", AllEventsAsync).WithName("StreamAllLabEvents").WithTags("Labs").Produces<LabLiveEventDto>(StatusCodes.Status200OK, "text/event-stream")
            .WithSummary("Live events of every lab the caller may see, as Server-Sent Events");
    }

    private static async Task<IResult> LabEventsAsync([For(Operation.Read)] Authorized<Lab> authorized, Caller caller,
        LtbDbContext db, IResourceAuthorizer<Lab> authz, LiveEventHub hub, HttpContext http, CancellationToken ct)
    {
        var id = authorized.Value.Id;
        var visible = Visibility(authz, caller);
        using var subscription = hub.Subscribe(caller.UserId, e => e.Data.Lab == id && visible(e));
        if (subscription is null)
        {
            return TooManyStreams();
        }
        // Read after subscribing: a change between this read and the first live event is seen (twice at worst).
        var l = await db.Labs.AsNoTracking().FirstAsync(x => x.Id == id, ct);
        var replay = await ReplayAsync(http, db.LabEvents.Where(e => e.LabId == id), ct);
        var first = replay.Select(e => Log(e, l.Name))
            .Prepend(new LabLiveEventDto("lab", l.Id, l.Name, l.UpdatedAt) { State = LabViews.State(l.State), Error = l.Error });
        await StreamAsync(http, subscription, first, ct);
        return Results.Empty;
    }

    private static async Task<IResult> AllEventsAsync(Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, LiveEventHub hub,
        HttpContext http, CancellationToken ct)
    {
        using var subscription = hub.Subscribe(caller.UserId, Visibility(authz, caller));
        if (subscription is null)
        {
            return TooManyStreams();
        }
        var labs = authz.Visible(db.Labs, caller);
        var replay = await ReplayAsync(http, db.LabEvents.Where(e => labs.Any(l => l.Id == e.LabId)), ct);
        var names = replay.Count == 0 ? [] : await labs.Where(l => replay.Select(e => e.LabId).Contains(l.Id)).ToDictionaryAsync(l => l.Id, l => l.Name, ct);
        await StreamAsync(http, subscription, replay.Select(e => Log(e, names.GetValueOrDefault(e.LabId, ""))), ct);
        return Results.Empty;
    }

    /// <summary>
    /// Whether the caller may see an event's lab, decided by the lab authorizer on the owner and group the event carries
    /// (per stream, remembered per owner and group: the publisher's thread must not wait).
    /// </summary>
    private static Func<LiveEvent, bool> Visibility(IResourceAuthorizer<Lab> authz, Caller caller)
    {
        var seen = new ConcurrentDictionary<(Guid, Guid?), bool>();
        return e => seen.Count < 1000
            ? seen.GetOrAdd((e.OwnerId, e.GroupId), k => authz.Visible(new[] { new Lab { OwnerId = k.Item1, GroupId = k.Item2 } }.AsQueryable(), caller).Any())
            : authz.Visible(new[] { new Lab { OwnerId = e.OwnerId, GroupId = e.GroupId } }.AsQueryable(), caller).Any();
    }

    /// <summary>The event-log rows after the client's Last-Event-ID (a reconnecting EventSource sends it), at most <see cref="MaxReplay"/>.</summary>
    private static async Task<List<LabEvent>> ReplayAsync(HttpContext http, IQueryable<LabEvent> rows, CancellationToken ct) =>
        long.TryParse(http.Request.Headers["Last-Event-ID"].ToString(), out var after) && after >= 0
            ? await rows.Where(e => e.Id > after).OrderBy(e => e.Id).Take(MaxReplay).ToListAsync(ct)
            : [];

    private static LabLiveEventDto Log(LabEvent e, string labName) => new("log", e.LabId, labName, e.At)
    {
        Id = e.Id, Level = e.Level.ToString().ToLowerInvariant(), Node = e.Node, Message = e.Message,
    };

    private static ProblemHttpResult TooManyStreams() => TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests,
        detail: $"too many event streams open (at most {LiveEventHub.MaxPerUser} per user): close one and try again");

    private static async Task StreamAsync(HttpContext http, LiveEventHub.Subscription subscription, IEnumerable<LabLiveEventDto> first,
        CancellationToken ct)
    {
        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // a reverse proxy passes each event on at once
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(ct);
        lifetime.CancelAfter(MaxLifetime);
        var token = lifetime.Token;
        try
        {
            await response.WriteAsync("retry: 2000\n\n", token);
            foreach (var e in first)
            {
                await WriteAsync(response, e.Type, e, token);
            }
            await response.Body.FlushAsync(token);
            while (true)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(token);
                wait.CancelAfter(KeepAlive);
                bool more;
                try
                {
                    more = await subscription.Reader.WaitToReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    await response.WriteAsync(": keep-alive\n\n", token);
                    await response.Body.FlushAsync(token);
                    continue;
                }
                if (!more)
                {
                    break;
                }
                while (subscription.Reader.TryRead(out var e))
                {
                    await (e is null
                        ? WriteAsync(response, "resync", new { message = "events may have been missed: read the state again" }, token)
                        : WriteAsync(response, e.Data.Type, e.Data, token));
                }
                await response.Body.FlushAsync(token);
            }
            if (subscription.Overflowed)
            {
                await WriteAsync(response, "overflow", new { message = $"this client fell {LiveEventHub.Capacity} events behind and was cut off: reconnect" }, token);
                await response.Body.FlushAsync(token);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The client went away (or the stream reached its lifetime): the caller's `using` unsubscribes.
        }
    }

    private static async Task WriteAsync<T>(HttpResponse response, string type, T data, CancellationToken ct)
    {
        var id = data is LabLiveEventDto { Type: "log", Id: { } rowId } ? $"id: {rowId}\n" : "";
        await response.WriteAsync($"event: {type}\n{id}data: {JsonSerializer.Serialize(data, LiveEvent.Json)}\n\n", ct);
    }
}
