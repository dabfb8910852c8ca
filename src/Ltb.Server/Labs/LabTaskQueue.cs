using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.Common;
using Hangfire.States;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;

namespace Ltb.Server.Labs;

/// <summary>
/// Runs lab tasks on their host. The store holds the task (state, input, log), the queue only its id, so the endpoints
/// and the runner do not depend on how tasks are queued.
/// </summary>
public interface ILabTaskQueue
{
    void Enqueue(Guid hostId, Guid taskId);
}

/// <summary>
/// Lab tasks as Hangfire jobs (<see cref="LabJobs"/>: PostgreSQL storage shared by every replica, or in-memory storage in
/// the embedded single-process mode). Every task goes to one queue, served in this process by one Hangfire server of
/// <see cref="LtbServerOptions.LabTaskWorkers"/> workers, whatever the number of hosts (a server per host queue held
/// PostgreSQL connections per host: 50 hosts used up a default server's 100). How many tasks one host runs at once is
/// bounded by <see cref="HostTaskSlots"/>. The tasks of one lab run in the order they were queued: a task's job is a
/// continuation of the job of the lab's previous unfinished task, so it waits (in Hangfire's Awaiting state, holding no
/// worker) until that one has finished. The store's <see cref="LabTask"/> row stays the truth about state, attempts,
/// progress and log; the job only says "run task X now".
/// </summary>
public sealed class HangfireLabTaskQueue(LabJobs jobs, IServiceScopeFactory scopes)
    : ILabTaskQueue, IHostedService, IDisposable
{
    // Enqueuing reads the lab's previous task and writes this one's job id: one at a time in this process.
    private readonly Lock _enqueueing = new();
    private BackgroundJobServer? _server;

    public void Enqueue(Guid hostId, Guid taskId)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<LtbDbContext>();
        lock (_enqueueing)
        {
            var task = db.LabTasks.Single(t => t.Id == taskId);
            var before = PreviousJob(db, task);
            // The job carries its queue, so that it returns to it after a delay (a retry) and not to Hangfire's default.
            var job = Job.FromExpression<LabTaskJob>(j => j.RunAsync(taskId, CancellationToken.None), LabJobs.Queue);
            var enqueued = new EnqueuedState(LabJobs.Queue);
            // A continuation of a job that has already finished is enqueued at once (Hangfire checks under its lock).
            IState state = before is null ? enqueued : new AwaitingState(before, enqueued, JobContinuationOptions.OnAnyFinishedState);
            task.JobId = jobs.Client.Create(job, state);
            db.SaveChanges();
        }
    }

    /// <summary>The job of the lab's last task queued before this one that has not finished.</summary>
    private static string? PreviousJob(LtbDbContext db, LabTask task)
    {
        var unfinished = db.LabTasks
            .Where(t => t.LabId == task.LabId && t.Id != task.Id && t.JobId != null
                && (t.State == LabTaskState.Queued || t.State == LabTaskState.Running))
            .Select(t => new { t.JobId, t.CreatedAt })
            .ToList();
        // SQLite cannot order DateTimeOffset in SQL; a lab has few unfinished tasks. Tasks created in one request share
        // their time: the job created later (a larger id) was queued later.
        return unfinished
            .Where(t => t.CreatedAt <= task.CreatedAt)
            .OrderBy(t => t.CreatedAt)
            .ThenBy(t => long.TryParse(t.JobId, out var n) ? n : 0)
            .LastOrDefault()?.JobId;
    }

    /// <summary>Starts this replica's server of the lab task queue (jobs queued before it started wait in the storage).</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _server = jobs.StartServer();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is null)
        {
            return;
        }
        // Running tasks see the shutdown token, put themselves back in the queue and end (LabTaskRunner).
        _server.SendStop();
        await _server.WaitForShutdownAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _server?.Dispose();
}

/// <summary>What a Hangfire job runs: one lab task, in a scope of its own.</summary>
public sealed class LabTaskJob(LabTaskRunner runner)
{
    // Hangfire's own retries are not used for lab tasks (LabTaskRunner decides); a task that cannot run now is
    // rescheduled with RetryLaterException.
    public Task RunAsync(Guid taskId, CancellationToken ct) => runner.RunAsync(taskId, ct);
}

/// <summary>Thrown by a task that is to run again later (its host is away, or a retry after a transient failure).</summary>
public sealed class RetryLaterException(TimeSpan delay, string why) : Exception(why)
{
    public TimeSpan Delay { get; } = delay;
}

/// <summary>Turns a job that failed with <see cref="RetryLaterException"/> into a scheduled one (no Hangfire retry used).</summary>
internal sealed class RetryLaterFilter : JobFilterAttribute, IElectStateFilter
{
    public void OnStateElection(ElectStateContext context)
    {
        if (context.CandidateState is FailedState { Exception: RetryLaterException later })
        {
            context.CandidateState = new ScheduledState(later.Delay) { Reason = later.Message };
        }
    }
}

/// <summary>
/// The Hangfire side of lab tasks: the storage (PostgreSQL, shared by replicas; in memory for the embedded SQLite mode),
/// the job client, the filters and this replica's server of the lab task queue. Nothing here uses Hangfire's static configuration, so
/// several servers can live in one process (the tests).
/// </summary>
public sealed class LabJobs : IDisposable
{
    private readonly LtbServerOptions _options;
    private readonly IServiceScopeFactory _scopes;
    private readonly JobFilterCollection _filters = [];

    public LabJobs(LtbServerOptions options, IServiceScopeFactory scopes)
    {
        _options = options;
        _scopes = scopes;
        Storage = options.Database == DatabaseProvider.Postgres
            ? new Hangfire.PostgreSql.PostgreSqlStorage(
                new Hangfire.PostgreSql.Factories.NpgsqlConnectionFactory(options.ResolveConnectionString(), new Hangfire.PostgreSql.PostgreSqlStorageOptions()),
                new Hangfire.PostgreSql.PostgreSqlStorageOptions
                {
                    SchemaName = "hangfire",
                    PrepareSchemaIfNecessary = true,
                    // A job stays invisible to other replicas while its worker lives (the timeout slides with the
                    // worker's keep-alive); a replica that died lets its jobs be fetched again after this.
                    UseSlidingInvisibilityTimeout = true,
                    InvisibilityTimeout = options.JobInvisibilityTimeout,
                    EnableLongPolling = true,
                    QueuePollInterval = TimeSpan.FromSeconds(2),
                })
            : new Hangfire.InMemory.InMemoryStorage(new Hangfire.InMemory.InMemoryStorageOptions { IdType = Hangfire.InMemory.InMemoryStorageIdType.Long });
        _filters.Add(new ContinuationsSupportAttribute());
        _filters.Add(new RetryLaterFilter(), -10);
        // A job that throws anything else (the database was away) is tried a few times, then deleted, which lets the
        // lab's next task go on; the task's row says what happened (LabTaskRunner) or is retried at the next start.
        _filters.Add(new AutomaticRetryAttribute { Attempts = 3, DelaysInSeconds = [5, 15, 30], OnAttemptsExceeded = AttemptsExceededAction.Delete });
        Client = new BackgroundJobClient(Storage, _filters);
    }

    public JobStorage Storage { get; }

    public IBackgroundJobClient Client { get; }

    /// <summary>Whether the jobs live only in this process (the embedded mode): at a start, nothing of them is left.</summary>
    public bool InProcess => Storage is Hangfire.InMemory.InMemoryStorage;

    /// <summary>The Hangfire queue of every lab task (lowercase letters, digits, underscores).</summary>
    public const string Queue = "lab_tasks";

    /// <summary>The queues of the releases that had one per host ("host_" and the host's id): no server serves them now.</summary>
    public const string LegacyQueuePrefix = "host_";

    public BackgroundJobServer StartServer() => new(new BackgroundJobServerOptions
    {
        ServerName = $"{_options.ReplicaName}/{Queue}",
        Queues = [Queue],
        WorkerCount = Math.Max(1, _options.LabTaskWorkers),
        FilterProvider = _filters,
        Activator = new AspNetCoreJobActivator(_scopes),
        SchedulePollingInterval = TimeSpan.FromSeconds(2),
        HeartbeatInterval = TimeSpan.FromSeconds(10),
        ShutdownTimeout = TimeSpan.FromSeconds(15),
    }, Storage);

    /// <summary>
    /// Whether a job waits in a queue of a release before this one (a queue per host, <see cref="LegacyQueuePrefix"/>),
    /// which no server serves any more; such a job is deleted, so that its task can be queued again.
    /// </summary>
    public bool DeleteIfLegacy(string jobId)
    {
        using var connection = Storage.GetConnection();
        if (connection.GetJobData(jobId)?.Job?.Queue is not { } queue || !queue.StartsWith(LegacyQueuePrefix, StringComparison.Ordinal))
        {
            return false;
        }
        Client.Delete(jobId);
        return true;
    }

    public void Dispose() => (Storage as IDisposable)?.Dispose();
}
