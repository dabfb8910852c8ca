using System.Net.Sockets;
using System.Text.Json;
using Grpc.Core;
using Ltb.Runtime.Status;
using Ltb.Server.Data;
using Ltb.Server.Hosting;

namespace Ltb.Server.Labs.Tasks;

/// <summary>
/// What one kind of lab task does (<see cref="LabTaskKind"/>): its work on the lab's host, what its success and its
/// failure mean for the lab, and which failures are tried again. <see cref="LabTaskRunner"/> does the rest for every
/// kind (claiming, retries, waiting for a host that went away, progress). Handlers are scoped services
/// (<see cref="LabTaskServices.AddLabTaskHandlers"/>) sharing the runner's DbContext, so the lab they change is the one
/// the runner saves. Derive from <see cref="LabTaskHandler{TInput, TResult}"/> rather than implementing this directly.
/// </summary>
public interface ILabTaskHandler
{
    LabTaskKind Kind { get; }

    /// <summary>Which failures of this kind are tried again, and how many starts a task gets.</summary>
    LabTaskRetry Retry { get; }

    /// <summary>The lab's state while the task runs (before the work; the runner saves it).</summary>
    void Begin(LabTask task, Lab lab);

    /// <summary>
    /// The work on the host. The runner flushes progress on the shared DbContext meanwhile, so the work touches neither
    /// the database nor the tracked task and lab: what it learns goes into its result, which
    /// <see cref="SucceededAsync"/> applies.
    /// </summary>
    Task<object?> RunAsync(LabTask task, LabTaskRun run, CancellationToken ct);

    /// <summary>What success means for the lab; saved by the runner together with the task's end.</summary>
    Task SucceededAsync(LabTask task, Lab lab, object? result, CancellationToken ct);

    /// <summary>
    /// What failure means for the lab (the runner has already failed the task and recorded the error as a lab event);
    /// saved by the runner together with the task's end. A failure after a retry ran out, or a host that stayed away,
    /// ends here too.
    /// </summary>
    Task FailedAsync(LabTask task, Lab lab, string error, CancellationToken ct);
}

/// <summary>What the work of a task may use: plain values of the lab (never its tracked entity), the agent and progress.</summary>
public sealed record LabTaskRun(Guid LabId, string LabName, string RuntimeName, int Attempt, ILabHostAgent Agent,
    IProgress<RuntimeEvent> Progress)
{
    /// <summary>An earlier attempt was cut off (in the middle, or after it finished with its answer lost).</summary>
    public bool IsRetry => Attempt > 1;
}

/// <summary>
/// A task kind's retry behaviour: which failures run the task again (after <see cref="Delay"/>) and how many starts it
/// gets (null: the server's <see cref="LtbServerOptions.LabTaskAttempts"/>). The task's time limit is always final.
/// </summary>
public sealed record LabTaskRetry(Func<Exception, bool> Retries, int? MaxAttempts = null)
{
    /// <summary>
    /// Failures that say nothing about the lab are retried: the host could not be reached, the connection dropped, the
    /// agent restarted (a new secret). The runtime's own verdicts (a missing image, a bad config: a LabRuntimeException
    /// from the agent) are final.
    /// </summary>
    public static readonly LabTaskRetry OnTransportFailures = new(IsTransportFailure);

    /// <summary>Every failure is final (one start).</summary>
    public static readonly LabTaskRetry Never = new(_ => false, 1);

    public int Attempts(LtbServerOptions options) => Math.Max(1, MaxAttempts ?? options.LabTaskAttempts);

    /// <summary>How long a failed attempt waits before the next one.</summary>
    public static TimeSpan Delay(int attempt) => TimeSpan.FromSeconds(5 * attempt);

    public static bool IsTransportFailure(Exception e) => e switch
    {
        LabRuntimeException { InnerException: RpcException r } => IsTransient(r.StatusCode),
        RpcException r => IsTransient(r.StatusCode),
        // The agent's call was cancelled by the other side (it went away); the runner has ruled out its own time limit.
        OperationCanceledException => true,
        HttpRequestException or IOException or SocketException => true,
        _ => false,
    };

    private static bool IsTransient(StatusCode code) => code is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Aborted
        or StatusCode.Unauthenticated or StatusCode.DeadlineExceeded or StatusCode.Cancelled;
}

/// <summary>A task's typed input as stored in <see cref="LabTask.InputJson"/> (the web defaults: camelCase).</summary>
public static class LabTaskInput
{
    public static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    public static string Write<TInput>(TInput input) => JsonSerializer.Serialize(input, Json);

    public static TInput Read<TInput>(string json) => JsonSerializer.Deserialize<TInput>(json, Json)
        ?? throw new InvalidDataException($"the task's input is empty (expected {typeof(TInput).Name})");
}

/// <summary>
/// A handler with a typed input (<see cref="LabTaskInput"/>: written by the endpoint that creates the task) and a typed
/// result of its work.
/// </summary>
public abstract class LabTaskHandler<TInput, TResult> : ILabTaskHandler
{
    public abstract LabTaskKind Kind { get; }

    public virtual LabTaskRetry Retry => LabTaskRetry.OnTransportFailures;

    public virtual void Begin(LabTask task, Lab lab)
    {
    }

    protected abstract Task<TResult> RunAsync(TInput input, LabTaskRun run, CancellationToken ct);

    protected abstract Task SucceededAsync(Lab lab, TInput input, TResult result, CancellationToken ct);

    public abstract Task FailedAsync(LabTask task, Lab lab, string error, CancellationToken ct);

    async Task<object?> ILabTaskHandler.RunAsync(LabTask task, LabTaskRun run, CancellationToken ct) =>
        await RunAsync(LabTaskInput.Read<TInput>(task.InputJson), run, ct);

    Task ILabTaskHandler.SucceededAsync(LabTask task, Lab lab, object? result, CancellationToken ct) =>
        SucceededAsync(lab, LabTaskInput.Read<TInput>(task.InputJson), (TResult)result!, ct);
}
