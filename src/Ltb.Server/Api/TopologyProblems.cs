using Ltb.Topology.Validation;

namespace Ltb.Server.Api;

/// <summary>
/// 422 for a topology (or node type definition) that reads but does not validate: every diagnostic with its file, line,
/// column, severity and message in <c>diagnostics</c>, and as "FILE:LINE:COL: error: message" lines in
/// <c>errors.topology</c> (what the CLI prints line by line).
/// </summary>
public static class TopologyProblems
{
    public static ProblemHttpResult Unprocessable(IReadOnlyList<Diagnostic> diagnostics, string what, string field = "topology")
    {
        var errors = diagnostics.Where(d => d.IsError).ToList();
        var detail = errors.Count == 1
            ? $"{what} has an error: {errors[0]}"
            : $"{what} has {errors.Count} errors, the first: {errors[0]}";
        return TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Invalid " + what, detail: detail,
            extensions: new Dictionary<string, object?>
            {
                ["diagnostics"] = diagnostics.Select(ToDto).ToList(),
                ["errors"] = new Dictionary<string, string[]> { [field] = [.. diagnostics.Select(d => d.ToString())] },
            });
    }

    public static DiagnosticDto ToDto(Diagnostic d) =>
        new(d.Span.File, d.Span.Line, d.Span.Column, d.IsError ? "error" : "warning", d.Message);
}
