namespace Ltb.Server.Api;

/// <summary>RFC 7807 problem details for the errors endpoints answer with; one clear sentence in "detail".</summary>
public static class Problems
{
    public static ProblemHttpResult NotFound(string what) =>
        Make(StatusCodes.Status404NotFound, "Not found", $"no such {what}");

    public static ProblemHttpResult Forbidden(string detail) =>
        Make(StatusCodes.Status403Forbidden, "Forbidden", detail);

    public static ProblemHttpResult Conflict(string detail) =>
        Make(StatusCodes.Status409Conflict, "Conflict", detail);

    public static ProblemHttpResult PreconditionFailed() =>
        Make(StatusCodes.Status412PreconditionFailed, "Precondition failed",
            "the object was changed since you read it (If-Match does not match its ETag); read it again and retry");

    public static ProblemHttpResult Unauthorized(string detail) =>
        Make(StatusCodes.Status401Unauthorized, "Unauthorized", detail);

    public static ProblemHttpResult TooLarge(string detail) =>
        Make(StatusCodes.Status413PayloadTooLarge, "Payload too large", detail);

    public static ProblemHttpResult BadRequest(string detail) =>
        Make(StatusCodes.Status400BadRequest, "Bad request", detail);

    /// <summary>400 with the invalid fields, as <see cref="HttpValidationProblemDetails"/>.</summary>
    public static ValidationProblem Invalid(IDictionary<string, string[]> errors) =>
        TypedResults.ValidationProblem(errors, title: "Invalid request",
            detail: string.Join("; ", errors.SelectMany(e => e.Value.Select(m => $"{e.Key}: {m}"))));

    public static ValidationProblem Invalid(string field, string message) =>
        Invalid(new Dictionary<string, string[]> { [field] = [message] });

    private static ProblemHttpResult Make(int status, string title, string detail) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail);
}
