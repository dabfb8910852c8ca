using System.Net.ServerSentEvents;
using System.Text.Json;
using Ltb.Client;
using Ltb.Contracts;

namespace Ltb.Web.Services;

/// <summary>
/// A page's live state: the API's lab event stream (Server-Sent Events, one lab or every visible lab) read through
/// Ltb.Client for as long as the page is open, reopened after the server ends it (it does every 15 minutes) or after an
/// error; the page gets each event and decides what to reload. No polling.
/// </summary>
public static class LiveEvents
{
    private static readonly TimeSpan Reconnect = TimeSpan.FromSeconds(2);

    public static async Task FollowAsync(LtbApiClient api, string? lab, Func<LabLiveEventDto?, Task> onEvent, CancellationToken ct)
    {
        string? lastId = null;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                using var stream = await api.StreamLabEventsAsync(lab, lastId, ct);
                await using var body = await stream.Content.ReadAsStreamAsync(ct);
                await foreach (var item in SseParser.Create(body).EnumerateAsync(ct))
                {
                    if (!string.IsNullOrEmpty(item.EventId))
                    {
                        lastId = item.EventId;
                    }
                    // resync/overflow: something was missed; null tells the page to reload everything.
                    var e = item.EventType is "resync" or "overflow" ? null : JsonSerializer.Deserialize<LabLiveEventDto>(item.Data, JsonSerializerOptions.Web);
                    await onEvent(e);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or JsonException or LtbApiException)
            {
                // The stream broke (a restart, a network hiccup): open it again below.
            }
            try
            {
                await Task.Delay(Reconnect, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
