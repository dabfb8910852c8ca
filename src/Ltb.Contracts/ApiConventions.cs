namespace Ltb.Contracts;

/// <summary>The names a client needs besides the records: where the API lives and the headers it reads or sends.</summary>
public static class ApiConventions
{
    /// <summary>Where `ltb serve` listens unless told otherwise, and so where a client looks first.</summary>
    public const string DefaultServerUrl = "http://127.0.0.1:8480";

    /// <summary>Every operation's path starts with this (no leading slash: relative to the server's address).</summary>
    public const string Prefix = "api/v1";

    /// <summary>Where the server serves its OpenAPI document.</summary>
    public const string OpenApiDocument = "openapi/v1.json";

    /// <summary>The header of a log answer that names the limit its output stops at (without follow).</summary>
    public const string OutputLimitHeader = "Ltb-Output-Limit";

    /// <summary>The start of the last line of a log answer cut at the limit (the CLI prints that line on stderr).</summary>
    public const string CutMarker = "[ltb] ";

    /// <summary>The Server-Sent Events header that resumes a live event stream after the event it names.</summary>
    public const string LastEventIdHeader = "Last-Event-ID";

    /// <summary>A node's console WebSocket, from the server's root (opened with <c>?ticket=</c> or a bearer header).</summary>
    public static string ConsoleSocketPath(Guid lab, string node) =>
        $"/{Prefix}/labs/{lab}/nodes/{Uri.EscapeDataString(node)}/console/ws";

    /// <summary>A VM node's display WebSocket (raw RFB in binary messages).</summary>
    public static string DisplaySocketPath(Guid lab, string node) =>
        $"/{Prefix}/labs/{lab}/nodes/{Uri.EscapeDataString(node)}/vnc/ws";
}
