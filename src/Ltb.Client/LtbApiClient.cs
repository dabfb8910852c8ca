using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Ltb.Contracts;

namespace Ltb.Client;

/// <summary>
/// The typed client of the LTB REST API (the CLI's, the tests', a front end's). Errors come back as
/// <see cref="LtbApiException"/> whose message is one line made from the server's problem details.
/// This file is the transport; LtbApiClient.Resources.cs has one method per operation (its operationId in the OpenAPI
/// document names it). The request and response types are Ltb.Contracts'.
/// </summary>
public sealed partial class LtbApiClient : IDisposable
{
    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp = true;

    public LtbApiClient(Uri server, string? token, HttpMessageHandler? handler = null)
    {
        Server = server;
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.BaseAddress = server;
        _http.Timeout = TimeSpan.FromSeconds(100);
        if (token is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    /// <summary>
    /// A client over an HttpClient the caller keeps (its address, authorization and lifetime): a front end's or a test's
    /// configured client. Disposing this client leaves it open.
    /// </summary>
    public LtbApiClient(HttpClient http)
    {
        _http = http;
        _ownsHttp = false;
        Server = http.BaseAddress ?? throw new ArgumentException("the HttpClient needs a BaseAddress (the server)", nameof(http));
    }

    public Uri Server { get; }

    /// <summary>How long a request may take (default 100 s); an upload of a large file needs longer (Infinite: no limit).</summary>
    public TimeSpan Timeout
    {
        get => _http.Timeout;
        init => _http.Timeout = value;
    }

    /// <summary>Added to the message of a 401 in parentheses: how this program's user signs in (the CLI: "run: ltb login").</summary>
    public string? SignInHint { get; init; }

    public Task<T> GetAsync<T>(string path, CancellationToken ct) => SendAsync<T>(HttpMethod.Get, path, null, ct);

    public Task<T> PostAsync<T>(string path, object body, CancellationToken ct) => SendAsync<T>(HttpMethod.Post, path, body, ct);

    /// <summary>A POST whose answer has no body (204).</summary>
    public async Task PostAsync(string path, object? body, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Post, path, body, ct);
    }

    /// <summary>
    /// Opens a WebSocket at <paramref name="path"/> with the client's token. A refusal (no such lab, not allowed, not
    /// running) comes back as the server's problem, read with a plain GET of the same address: the server answers it the
    /// same refusal before it looks for a WebSocket.
    /// </summary>
    public async Task<System.Net.WebSockets.ClientWebSocket> ConnectSocketAsync(string path, CancellationToken ct)
    {
        var uri = new UriBuilder(new Uri(Server, path)) { Scheme = Server.Scheme == "https" ? "wss" : "ws" }.Uri;
        var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(20);
        socket.Options.CollectHttpResponseDetails = true;
        // The client's own headers (its authorization, and what a front end adds) go with the upgrade request too.
        foreach (var (name, values) in _http.DefaultRequestHeaders)
        {
            socket.Options.SetRequestHeader(name, string.Join(", ", values));
        }
        try
        {
            await socket.ConnectAsync(uri, ct);
            return socket;
        }
        catch (System.Net.WebSockets.WebSocketException e)
        {
            var status = socket.HttpStatusCode;
            socket.Dispose();
            if (status is 0)
            {
                throw new LtbApiException(0, $"cannot reach the LTB server at {Server}: {e.Message}", e);
            }
            using var response = await SendAsync(HttpMethod.Get, path, null, ct);
            throw new LtbApiException((int)status, $"the server refused the WebSocket at /{path.Split('?')[0]} ({(int)status})", e);
        }
    }

    /// <summary>Copies a (large) body to <paramref name="output"/> as it comes, never holding it whole.</summary>
    public async Task DownloadAsync(string path, Stream output, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, path, null, ct, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        await body.CopyToAsync(output, ct);
    }

    /// <summary>A body as the server sent it, byte for byte (a template's YAML).</summary>
    public async Task<byte[]> GetBytesAsync(string path, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, path, null, ct);
        return await response.Content.ReadAsByteArrayAsync(ct);
    }

    /// <summary>
    /// Copies a text answer to <paramref name="output"/> as it comes. An answer the server may cut at its output limit
    /// (it names the limit in a header) ends, when cut, with a note line: that line goes to <paramref name="notes"/>.
    /// </summary>
    public async Task StreamTextAsync(string path, TextWriter output, CancellationToken ct, TextWriter? notes = null)
    {
        using var response = await SendAsync(HttpMethod.Get, path, null, ct, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        var cuttable = notes is not null && response.Headers.Contains(ApiConventions.OutputLimitHeader);
        var buffer = new char[8192];
        var held = new System.Text.StringBuilder();
        int read;
        while ((read = await reader.ReadAsync(buffer, ct)) > 0)
        {
            if (!cuttable)
            {
                await output.WriteAsync(buffer.AsMemory(0, read), ct);
                await output.FlushAsync(ct);
                continue;
            }
            // Held back: the text from the last line break on, which may be the start of the note (bounded: a note is short).
            held.Append(buffer, 0, read);
            var text = held.ToString();
            var keepFrom = text.LastIndexOf('\n', Math.Max(0, text.Length - 2));
            keepFrom = keepFrom < 0 || text.Length - keepFrom > 4096 ? text.Length : keepFrom;
            await output.WriteAsync(text.AsMemory(0, keepFrom), ct);
            await output.FlushAsync(ct);
            held.Remove(0, keepFrom);
        }
        var rest = held.ToString();
        var note = rest.IndexOf("\n" + ApiConventions.CutMarker, StringComparison.Ordinal);
        if (note >= 0 && notes is not null)
        {
            await output.WriteAsync(rest.AsMemory(0, note), ct);
            await notes.WriteLineAsync($"ltb: {rest[(note + 1 + ApiConventions.CutMarker.Length)..].TrimEnd('\n')}");
        }
        else
        {
            await output.WriteAsync(rest);
        }
        await output.FlushAsync(ct);
    }

    /// <summary>
    /// Opens a Server-Sent Events stream (a lab's live events) and answers once the headers came: the caller reads the
    /// body as it arrives and disposes the answer. <paramref name="lastEventId"/> resumes after an event seen before.
    /// </summary>
    public Task<HttpResponseMessage> OpenEventStreamAsync(string path, string? lastEventId, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, path, null, ct, HttpCompletionOption.ResponseHeadersRead, request =>
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            if (lastEventId is not null)
            {
                request.Headers.TryAddWithoutValidation(ApiConventions.LastEventIdHeader, lastEventId);
            }
        });

    public Task DeleteAsync(string path, CancellationToken ct) => SendWithoutAnswerAsync(HttpMethod.Delete, path, null, ct);

    /// <summary>A call whose answer has no body (204), or one the caller does not need.</summary>
    public async Task SendWithoutAnswerAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var response = await SendAsync(method, path, body, ct);
    }

    /// <summary>A multipart upload (a topology and its files).</summary>
    public async Task<T> PostContentAsync<T>(string path, HttpContent content, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Post, path, content, ct);
        return await response.Content.ReadFromJsonAsync<T>(Json, ct)
            ?? throw new LtbApiException(0, $"the server at {Server} sent an empty answer to POST /{path}");
    }

    public async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var response = await SendAsync(method, path, body, ct);
        return await response.Content.ReadFromJsonAsync<T>(Json, ct)
            ?? throw new LtbApiException(0, $"the server at {Server} sent an empty answer to {method} /{path}");
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, Action<HttpRequestMessage>? prepare = null)
    {
        using var request = new HttpRequestMessage(method, path);
        prepare?.Invoke(request);
        if (body is HttpContent content)
        {
            request.Content = content;
        }
        else if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, ct);
        }
        catch (HttpRequestException e)
        {
            throw new LtbApiException(0, $"cannot reach the LTB server at {Server}: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new LtbApiException(0, $"the LTB server at {Server} did not answer in time", e);
        }
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        using (response)
        {
            throw await ToExceptionAsync(response, ct);
        }
    }

    private async Task<LtbApiException> ToExceptionAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var hint = response.StatusCode == HttpStatusCode.Unauthorized && SignInHint is not null ? $" ({SignInHint})" : "";
        return ToException((int)response.StatusCode, await response.Content.ReadAsStringAsync(ct), response.ReasonPhrase, hint);
    }

    /// <summary>
    /// The exception for an error answer (problem details, else the status line): also for an answer the browser got
    /// itself (the web UI's uploads, which bypass this client), so its words are the same.
    /// </summary>
    public static LtbApiException ToException(int status, string? body, string? reason = null, string hint = "")
    {
        string? detail = null;
        IReadOnlyList<string> details = [];
        IReadOnlyList<DiagnosticDto> diagnostics = [];
        try
        {
            var problem = string.IsNullOrWhiteSpace(body) ? null : JsonSerializer.Deserialize<Problem>(body, Json);
            detail = problem?.Detail ?? problem?.Title;
            if (problem?.Errors is { Count: > 0 } errors && problem.Detail is null)
            {
                detail = string.Join("; ", errors.SelectMany(e => e.Value.Select(m => $"{e.Key}: {m}")));
            }
            details = problem?.Errors?.SelectMany(e => e.Value).ToList() ?? [];
            diagnostics = problem?.Diagnostics ?? [];
        }
        catch (JsonException)
        {
            // Not problem details (a proxy's page): the status line is all there is.
        }
        return new LtbApiException(status, $"{detail ?? reason ?? "request failed"} [HTTP {status}]{hint}") { Details = details, Diagnostics = diagnostics };
    }

    private sealed record Problem(string? Title, string? Detail, int? Status, Dictionary<string, string[]>? Errors,
        List<DiagnosticDto>? Diagnostics = null);

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }
}
