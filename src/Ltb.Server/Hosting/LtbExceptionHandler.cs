using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Ltb.Server.Hosting;

/// <summary>
/// Exceptions become problem details, in one place: a lost concurrent update is 412, a unique-key race is 409, a
/// malformed request is 400, anything else is 500 without internals (the log has them, the client a trace id).
/// </summary>
internal sealed class LtbExceptionHandler(IProblemDetailsService problems, ILogger<LtbExceptionHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        var (status, title, detail) = exception switch
        {
            DbUpdateConcurrencyException => (StatusCodes.Status412PreconditionFailed, "Precondition failed",
                "the object was changed by someone else meanwhile; read it again and retry"),
            DbUpdateException { InnerException: SqliteException { SqliteErrorCode: 19 } or PostgresException { SqlState: "23505" } } =>
                (StatusCodes.Status409Conflict, "Conflict", "the change conflicts with an existing object (a name or key in use)"),
            BadHttpRequestException bad => (bad.StatusCode, "Bad request", bad.Message),
            _ => (StatusCodes.Status500InternalServerError, "Internal error",
                "the server failed to handle the request; the server log has the details under this trace id"),
        };
        if (status == StatusCodes.Status500InternalServerError)
        {
            log.LogError(exception, "unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
        }
        context.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }
}
