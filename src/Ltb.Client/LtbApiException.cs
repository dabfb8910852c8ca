namespace Ltb.Client;

/// <summary>A failed API call; <see cref="Exception.Message"/> is one line for the user. Status 0: no answer.</summary>
public sealed class LtbApiException(int status, string message, Exception? inner = null) : Exception(message, inner)
{
    public int Status { get; } = status;

    /// <summary>The individual messages of a validation problem (e.g. one topology diagnostic each), for printing line by line.</summary>
    public IReadOnlyList<string> Details { get; init; } = [];

    /// <summary>A 422's diagnostics with their line and column (an invalid topology or node type), for an editor to mark.</summary>
    public IReadOnlyList<Ltb.Contracts.DiagnosticDto> Diagnostics { get; init; } = [];
}
