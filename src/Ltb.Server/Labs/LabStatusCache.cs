using System.Collections.Concurrent;
using Ltb.Runtime.Status;
using Microsoft.Extensions.Hosting;

namespace Ltb.Server.Labs;

/// <summary>
/// The live status of running labs, observed on their hosts and kept for a few seconds, so that many readers of a lab
/// (students polling, a class dashboard) cost one host inspection per lab every <see cref="RefreshAfter"/> (plus jitter) rather than one
/// per request (an inspection is one engine call and one `ip` process per node: ~100-250 ms on a busy 2-core host).
/// <list type="bullet">
/// <item>A reading younger than <see cref="RefreshAfter"/> is answered as is.</item>
/// <item>Older, up to <see cref="ServeStaleFor"/>: answered at once while one background inspection refreshes it. While
///   that inspection runs, readers keep getting the last reading even when a slow host makes it older than that:
///   waiting would not give them a fresher one (an inspection's reading is as old as the inspection is long).</item>
/// <item>Older still with no inspection running (nobody read the lab for a while), missing, or invalidated: the reader
///   waits for an inspection, and so do the readers that come while it runs.</item>
/// <item>Single flight: concurrent readers of one lab share one inspection; at most <see cref="MaxConcurrentInspections"/>
///   run at a time, so that refreshes never take the host's CPU from the requests.</item>
/// <item><see cref="Invalidate"/> (node and link operations) and <see cref="Set"/> (a task's outcome) start a new
///   generation: a reading or an inspection begun before it is never answered after it, so a node that was just stopped
///   reads as stopped.</item>
/// </list>
/// Every reading carries the time it was observed (the API answers it as <c>observedAt</c>). One process's memory:
/// with several server instances another instance's operation shows here within <see cref="ServeStaleFor"/>.
/// </summary>
public sealed class LabStatusCache(IHostApplicationLifetime lifetime) : IDisposable
{
    /// <summary>
    /// Node and link operations through LTB invalidate at once, so this only bounds how late a change made behind LTB's
    /// back (a node that crashed) shows. Each lab adds up to <see cref="RefreshJitter"/> so that labs read together
    /// (a class dashboard) are not all inspected in the same second: measured, such a burst of 50 inspections took the
    /// CPU from every request for seconds (bench/Ltb.Bench.Api, docs/benchmarks.md).
    /// </summary>
    public static readonly TimeSpan RefreshAfter = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan RefreshJitter = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan ServeStaleFor = TimeSpan.FromSeconds(30);
    /// <summary>An inspection that hangs (a stuck engine) ends and the readers fall back to the stored snapshot.</summary>
    public static readonly TimeSpan InspectionTimeout = TimeSpan.FromSeconds(30);
    public static readonly int MaxConcurrentInspections = Math.Max(2, Environment.ProcessorCount);

    private readonly ConcurrentDictionary<Guid, Entry> _labs = new();
    private readonly SemaphoreSlim _inspections = new(MaxConcurrentInspections);

    /// <summary>A host's view of a lab at <see cref="At"/>; <see cref="Status"/> is null when the host did not answer.</summary>
    public sealed record Reading(LabStatus? Status, DateTimeOffset At);

    /// <summary>
    /// The lab's status as recently observed on its host. <paramref name="agent"/> is asked only when an inspection must
    /// start (it may query the store); null from it, like an inspection that fails, gives a reading without status.
    /// </summary>
    public async Task<Reading> GetAsync(Guid lab, string runtimeName, Func<Task<ILabHostAgent?>> agent, CancellationToken ct)
    {
        var entry = _labs.GetOrAdd(lab, _ => new Entry());
        TaskCompletionSource<Reading>? flight = null;
        Task<Reading> wait;
        Reading? answer = null;
        lock (entry)
        {
            var current = entry.Value is { } v && v.Generation == entry.Generation ? v.Reading : null;
            var age = current is null ? TimeSpan.MaxValue : DateTimeOffset.UtcNow - current.At;
            var flying = entry.Flight is { } f && entry.FlightGeneration == entry.Generation ? f.Task : null;
            if (flying is null && age >= entry.RefreshAfter)
            {
                flight = new TaskCompletionSource<Reading>(TaskCreationOptions.RunContinuationsAsynchronously);
                entry.Flight = flight;
                entry.FlightGeneration = entry.Generation;
                entry.FlightNeeded = age >= ServeStaleFor;
                flying = flight.Task;
            }
            if (age < entry.RefreshAfter || (current is not null && !entry.FlightNeeded))
            {
                answer = current;
            }
            wait = flying ?? Task.FromResult(current!);
        }
        if (flight is not null)
        {
            // The agent is looked up in the request (it may use the request's store); the inspection itself runs on its
            // own, so that a reader who gives up does not cancel it for the others.
            ILabHostAgent? found = null;
            try
            {
                found = await agent();
            }
            finally
            {
                _ = InspectAsync(entry, flight, runtimeName, found);
            }
        }
        return answer ?? await wait.WaitAsync(ct);
    }

    /// <summary>Readings from before this moment are not answered any more (after a node or link operation).</summary>
    public void Invalidate(Guid lab)
    {
        if (_labs.TryGetValue(lab, out var entry))
        {
            lock (entry)
            {
                entry.Generation++;
            }
        }
    }

    /// <summary>A status observed just now by someone else (a deployment returns one): the new current reading.</summary>
    public void Set(Guid lab, LabStatus status)
    {
        var entry = _labs.GetOrAdd(lab, _ => new Entry());
        lock (entry)
        {
            entry.Generation++;
            entry.Value = (new Reading(status, DateTimeOffset.UtcNow), entry.Generation);
        }
    }

    /// <summary>The lab is gone (destroyed): nothing of it is kept.</summary>
    public void Forget(Guid lab)
    {
        Invalidate(lab);
        _labs.TryRemove(lab, out _);
    }

    private async Task InspectAsync(Entry entry, TaskCompletionSource<Reading> flight, string runtimeName, ILabHostAgent? agent)
    {
        long generation;
        lock (entry)
        {
            generation = entry.FlightGeneration;
        }
        LabStatus? status = null;
        var at = DateTimeOffset.UtcNow;
        if (agent is not null)
        {
            try
            {
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping);
                limit.CancelAfter(InspectionTimeout);
                await _inspections.WaitAsync(limit.Token);
                try
                {
                    // The time the inspection began: the reading is at least this fresh.
                    at = DateTimeOffset.UtcNow;
                    status = await agent.InspectAsync(runtimeName, limit.Token);
                }
                finally
                {
                    _inspections.Release();
                }
            }
            catch (Exception)
            {
                // The host does not answer (or is too slow): the readers fall back to the stored snapshot.
            }
        }
        var reading = new Reading(status, at);
        lock (entry)
        {
            // An invalidation while the inspection ran makes its result unusable for later readers; those who were
            // waiting on this flight asked before the operation and may have it.
            if (entry.Generation == generation && (entry.Value is not { } v || v.Generation != generation || v.Reading.At <= at))
            {
                entry.Value = (reading, generation);
            }
            if (entry.Flight == flight)
            {
                entry.Flight = null;
            }
        }
        flight.TrySetResult(reading);
    }

    public void Dispose() => _inspections.Dispose();

    private sealed class Entry
    {
        public readonly TimeSpan RefreshAfter = LabStatusCache.RefreshAfter + RefreshJitter * Random.Shared.NextDouble();
        public long Generation;
        public (Reading Reading, long Generation)? Value;
        public TaskCompletionSource<Reading>? Flight;
        public long FlightGeneration;
        /// <summary>The running inspection was started because the reading was too old or missing: readers wait for it.</summary>
        public bool FlightNeeded;
    }
}
