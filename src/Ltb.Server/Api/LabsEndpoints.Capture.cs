using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc;
using Ltb.Runtime.Capture;
using Ltb.Runtime.Status;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Captures;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;

namespace Ltb.Server.Api;

/// <summary>
/// Live capture: <c>GET /labs/{lab}/capture?interface=NODE:IFACE...</c> streams one pcapng (Wireshark reads it from a
/// pipe) merged from one capture per interface. The captures themselves, shared between viewers, and their bounds:
/// <see cref="CaptureHub"/>; the stream's format: <see cref="PcapngWriter"/>; docs/api.md, "Live capture".
/// </summary>
public static partial class LabsEndpoints
{
    private static readonly TimeSpan CaptureStartTimeout = TimeSpan.FromSeconds(30);

    [GeneratedRegex(@"^[A-Za-z0-9_.@-]{1,15}$")]
    private static partial Regex InterfaceName();

    private static void MapCaptureEndpoints(RouteGroupBuilder labs)
    {
        labs.MapGet("/{lab}/capture", CaptureAsync).WithName("CaptureLab")
            .Produces<Stream>(StatusCodes.Status200OK, CaptureLimits.MediaType)
            .WithSummary("A live capture as pcapng (`interface=NODE:IFACE` and/or `mirror=NAME`, repeated; filter (BPF), snaplen, count, seconds): one interface block per interface named LAB/NODE:IFACE, packets as they arrive");
    }

    /// <summary>One interface to capture: a node's (Mirror false) or a mirror interface of the lab mirroring Node.</summary>
    private sealed record CaptureTarget(string Node, string Interface, ILabHostAgent Agent, bool Mirror, string DisplayName);

    /// <summary>What a capture request names: interfaces (NODE:IFACE), mirrors (NAME), a BPF filter, a snap length.</summary>
    private sealed record CaptureSpec(string[] Interfaces, string[] Mirrors, string? Filter, int? SnapLength);

    /// <summary>The request-scoped services a capture is opened with.</summary>
    private sealed record CaptureServices(Caller Caller, LtbDbContext Db, IResourceAuthorizer<Lab> Authz, IAgentDirectory Agents,
        LabStatusCache Statuses, CaptureHub Hub, AuditLog Audit);

    /// <summary>A capture whose every interface runs (their pcap headers came): its viewer is the caller's to dispose.</summary>
    private sealed record OpenedCapture(Lab Lab, CaptureViewer Viewer, string[] Names, PcapHeader[] Headers);

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult, ValidationProblem>> CaptureAsync(string lab,
        [FromQuery(Name = "interface")] string[]? interfaces, [FromQuery(Name = "mirror")] string[]? mirrors, string? filter, int? snaplen,
        int? count, int? seconds, long? bytes, HttpContext http, Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents,
        LabStatusCache statuses, CaptureHub hub, AuditLog audit, CancellationToken ct)
    {
        var spec = new CaptureSpec(interfaces ?? [], mirrors ?? [], filter, snaplen);
        if (ValidateCapture(spec, count, seconds) is { } invalid)
        {
            return invalid;
        }
        if (bytes is < 1 or > CaptureLimits.MaxBytes)
        {
            return Problems.Invalid("bytes", $"is between 1 and {CaptureLimits.MaxBytes}");
        }
        var (opened, problem) = await OpenCaptureAsync(lab, spec, new CaptureServices(caller, db, authz, agents, statuses, hub, audit), ct);
        if (opened is null)
        {
            return problem is ValidationProblem v ? v : (ProblemHttpResult)problem!;
        }
        using var viewer = opened.Viewer;
        http.Response.ContentType = CaptureLimits.MediaType;
        http.Response.Headers.CacheControl = "no-store";
        await CapturePump.RunAsync(http.Response.Body, viewer, opened.Names, opened.Headers, new CaptureBounds(count ?? CaptureLimits.MaxPackets,
            bytes ?? CaptureLimits.MaxBytes, TimeSpan.FromSeconds(seconds ?? CaptureLimits.MaxSeconds)), ct);
        return TypedResults.Empty;
    }

    /// <summary>
    /// Opens a validated capture: authorizes every interface, joins (or starts) one capture per interface, waits for each
    /// to run (its pcap header), records it in the audit log. The user's bound on open captures applies.
    /// </summary>
    private static async Task<(OpenedCapture? Opened, IResult? Problem)> OpenCaptureAsync(string lab,
        CaptureSpec spec, CaptureServices s, CancellationToken ct)
    {
        var (targets, l, refused) = await CaptureTargetsAsync(lab, spec.Interfaces, spec.Mirrors, s.Caller, s.Db, s.Authz, s.Agents, s.Statuses, ct);
        if (refused is not null)
        {
            return (null, refused);
        }
        var viewer = s.Hub.OpenViewer(s.Caller.UserId);
        if (viewer is null)
        {
            return (null, Problems.Conflict($"you have {CaptureLimits.MaxPerUser} captures open, the most at once; end one first"));
        }
        var (filter, snap, runtimeName) = (spec.Filter, spec.SnapLength ?? CaptureLimits.MaxSnapLength, l!.RuntimeName);
        var sources = targets.Select((t, i) => viewer.Follow(i, new CaptureKey(l.Id, runtimeName, t.Node, t.Interface, filter ?? "", snap, t.Mirror),
            (write, c) => t.Agent.CaptureAsync(new PacketCaptureRequest(runtimeName, t.Node, t.Interface, filter, snap, t.Mirror), write, c))).ToList();
        try
        {
            var headers = await Task.WhenAll(sources.Select(source => source.Header)).WaitAsync(CaptureStartTimeout, ct);
            s.Audit.Record("lab.capture", What, l.Id, Truncate($"{l.Name}: {string.Join(' ', targets.Select(t => t.DisplayName))}" +
                (filter is null ? "" : $" filter {filter}"), 2000));
            await s.Db.SaveChangesAsync(ct);
            return (new OpenedCapture(l, viewer, [.. targets.Select(t => $"{l.Name}/{t.DisplayName}")], headers), null);
        }
        catch (Exception e) when (e is LabRuntimeException or TimeoutException)
        {
            viewer.Dispose();
            return e switch
            {
                InvalidCaptureFilterException f => (null, Problems.Invalid("filter", f.Cause)),
                LabRuntimeException r => (null, Problems.Conflict(UserMessage(r, l))),
                _ => (null, Problems.Conflict($"the capture did not start within {CaptureStartTimeout.TotalSeconds:0} s")),
            };
        }
        catch
        {
            viewer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The interfaces to capture, each with the agent of its host; read access to the lab, as for a node's output (an
    /// instructor of the lab's group may watch too). A mirror is found in the lab's live status (which node it mirrors).
    /// </summary>
    private static async Task<(List<CaptureTarget> Targets, Lab? Lab, ProblemHttpResult? Refused)> CaptureTargetsAsync(string lab,
        string[] interfaces, string[] mirrors, Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents,
        LabStatusCache statuses, CancellationToken ct)
    {
        Lab? l = null;
        var targets = new List<CaptureTarget>();
        var specs = interfaces.Select(i => (Spec: SplitInterface(i), Mirror: false)).ToList();
        if (mirrors.Length > 0)
        {
            var access = await authz.FindAsync(db, caller, lab, Operation.Read, ct);
            if (access.Denied is { } denied)
            {
                return (targets, null, denied);
            }
            var known = (await SnapshotAsync(access.Resource!, db, agents, statuses, ct)).Mirrors;
            foreach (var name in mirrors)
            {
                if (known.FirstOrDefault(m => m.Name == name) is not { } mirror)
                {
                    return (targets, null, Problems.NotFound($"mirror interface '{name}' in lab '{access.Resource!.Name}'"));
                }
                specs.Add(((mirror.Node, name), true));
            }
        }
        foreach (var ((node, iface), mirror) in specs)
        {
            var (found, agent, problem) = await NodeAccessAsync(lab, node, Operation.Read, caller, db, authz, agents, ct);
            if (problem is not null)
            {
                return (targets, null, problem);
            }
            l = found;
            targets.Add(new CaptureTarget(node, iface, agent!, mirror, mirror ? $"{iface} (mirror of {node})" : $"{node}:{iface}"));
        }
        return (targets, l, null);
    }

    private static ValidationProblem? ValidateCapture(CaptureSpec spec, int? count, int? seconds)
    {
        var (interfaces, mirrors, filter, snaplen) = spec;
        if (interfaces.Length + mirrors.Length is 0 or > CaptureLimits.MaxInterfaces)
        {
            return Problems.Invalid("interface", $"give 1 to {CaptureLimits.MaxInterfaces} interfaces as interface=NODE:IFACE or mirror=NAME");
        }
        if (mirrors.FirstOrDefault(m => !MirrorNames.IsValid(m)) is { } badMirror)
        {
            return Problems.Invalid("mirror", $"'{badMirror}' is not a mirror interface's name");
        }
        if (mirrors.Distinct(StringComparer.Ordinal).Count() != mirrors.Length)
        {
            return Problems.Invalid("mirror", "names a mirror interface twice");
        }
        if (interfaces.FirstOrDefault(i => SplitInterface(i) is var (n, f) && (n.Length == 0 || !InterfaceName().IsMatch(f))) is { } bad)
        {
            return Problems.Invalid("interface", $"'{bad}' is not NODE:IFACE (an interface name of up to 15 letters, digits, '_', '.', '@', '-')");
        }
        if (interfaces.Distinct(StringComparer.Ordinal).Count() != interfaces.Length)
        {
            return Problems.Invalid("interface", "names an interface twice");
        }
        if (filter is not null && (filter.Length > CaptureLimits.MaxFilterLength || filter.Any(char.IsControl)))
        {
            return Problems.Invalid("filter", $"is one line of at most {CaptureLimits.MaxFilterLength} characters (libpcap filter syntax)");
        }
        return snaplen is < 1 or > CaptureLimits.MaxSnapLength ? Problems.Invalid("snaplen", $"is between 1 and {CaptureLimits.MaxSnapLength}")
            : count is < 1 or > CaptureLimits.MaxPackets ? Problems.Invalid("count", $"is between 1 and {CaptureLimits.MaxPackets}")
            : seconds is < 1 or > CaptureLimits.MaxSeconds ? Problems.Invalid("seconds", $"is between 1 and {CaptureLimits.MaxSeconds}")
            : null;
    }

    private static (string Node, string Interface) SplitInterface(string spec)
    {
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? ("", spec) : (spec[..colon], spec[(colon + 1)..]);
    }
}
