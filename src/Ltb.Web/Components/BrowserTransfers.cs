using System.Text.Json;
using Ltb.Client;
using Microsoft.JSInterop;

namespace Ltb.Web.Components;

/// <summary>
/// Large bodies the browser sends or fetches itself, straight to or from the API (client/src/transfer.js), never through
/// the circuit: the page asks for a single-use transfer ticket as the signed-in user (POST /api/v1/auth/transfer-tickets)
/// and the browser uses its URL. The API's answer is read as the typed client would (<see cref="LtbApiClient.ToException"/>).
/// </summary>
public static class BrowserTransfers
{
    /// <summary>
    /// POSTs the file picked in <paramref name="inputId"/> to <paramref name="apiPath"/> (plus <paramref name="query"/>,
    /// "&amp;a=b..."); progress goes to <paramref name="progress"/>'s <c>TransferProgress(phase, done, total)</c>. The call
    /// lasts as long as the upload (no JS interop timeout but <paramref name="ct"/>, the page's lifetime).
    /// </summary>
    public static async Task<T> UploadAsync<T, TProgress>(IJSRuntime js, LtbApiClient api, string inputId, string apiPath, string query,
        string contentType, DotNetObjectReference<TProgress> progress, CancellationToken ct) where TProgress : class
    {
        var ticket = await api.CreateTransferTicketAsync("POST", apiPath, ct);
        var answer = await js.InvokeAsync<Answer>("ltb.transfer.upload", ct, inputId, ticket.Url + query, contentType, progress);
        if (answer.Status is >= 200 and < 300)
        {
            return JsonSerializer.Deserialize<T>(answer.Body, JsonSerializerOptions.Web)
                ?? throw new LtbApiException(0, $"the server sent an empty answer to POST {apiPath}");
        }
        throw answer.Status == 0
            ? new LtbApiException(0, "the upload was interrupted (the connection to the server was lost)")
            : LtbApiClient.ToException(answer.Status, answer.Body);
    }

    /// <summary>Saves what GET <paramref name="apiPath"/> answers as <paramref name="fileName"/> with the browser's own download.</summary>
    public static async Task DownloadAsync(IJSRuntime js, LtbApiClient api, string apiPath, string fileName, CancellationToken ct)
    {
        var ticket = await api.CreateTransferTicketAsync("GET", apiPath, ct);
        await js.InvokeVoidAsync("ltb.transfer.download", ct, ticket.Url, fileName);
    }

    private sealed record Answer(int Status, string Body);
}
