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

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult, ValidationProblem>> CaptureAsync(string lab,
        [FromQuery(Name = "interface")] string[]? interfaces, [FromQuery(Name = "mirror")] string[]? mirrors, string? filter, int? snaplen,
        int? count, int? seconds, HttpContext http, Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents,
        LabStatusCache statuses, CaptureHub hub, AuditLog audit, CancellationToken ct)
    {
        interfaces ??= [];
        mirrors ??= [];
        if (ValidateCapture(interfaces, mirrors, filter, snaplen, count, seconds) is { } invalid)
        {
            return invalid;
        }
        var (targets, l, refused) = await CaptureTargetsAsync(lab, interfaces, mirrors, caller, db, authz, agents, statuses, ct);
        if (refused is not null)
        {
            return refused;
        }
        using var viewer = hub.OpenViewer(caller.UserId);
        if (viewer is null)
        {
            return Problems.Conflict($"you have {CaptureLimits.MaxPerUser} captures open, the most at once; end one first");
        }
        var snap = snaplen ?? CaptureLimits.MaxSnapLength;
        var runtimeName = l!.RuntimeName;
        var sources = targets.Select((t, i) => viewer.Follow(i, new CaptureKey(l.Id, runtimeName, t.Node, t.Interface, filter ?? "", snap, t.Mirror),
            (write, c) => t.Agent.CaptureAsync(new PacketCaptureRequest(runtimeName, t.Node, t.Interface, filter, snap, t.Mirror), write, c))).ToList();
        PcapHeader[] headers;
        try
        {
            headers = await Task.WhenAll(sources.Select(s => s.Header)).WaitAsync(CaptureStartTimeout, ct);
        }
        catch (InvalidCaptureFilterException e)
        {
            return Problems.Invalid("filter", e.Cause);
        }
        catch (LabRuntimeException e)
        {
            return Problems.Conflict(UserMessage(e, l));
        }
        catch (TimeoutException)
        {
            return Problems.Conflict($"the capture did not start within {CaptureStartTimeout.TotalSeconds:0} s");
        }
        audit.Record("lab.capture", What, l.Id, Truncate($"{l.Name}: {string.Join(' ', targets.Select(t => t.DisplayName))}" + (filter is null ? "" : $" filter {filter}"), 2000));
        await db.SaveChangesAsync(ct);
        var names = targets.Select(t => $"{l.Name}/{t.DisplayName}").ToArray();
        await StreamCaptureAsync(http, viewer, names, headers, count ?? CaptureLimits.MaxPackets,
            TimeSpan.FromSeconds(seconds ?? CaptureLimits.MaxSeconds), ct);
        return TypedResults.Empty;
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

    private static ValidationProblem? ValidateCapture(string[] interfaces, string[] mirrors, string? filter, int? snaplen, int? count, int? seconds)
    {
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

    /// <summary>
    /// Writes the pcapng: section header, interface blocks, then each packet as it comes (flushed at once) until the count
    /// or the time is reached, every interface's capture ended, or the reader left; then, for a reader still there, one
    /// statistics block per interface with the packets it lost (isb_ifdrop) and a comment saying why it ended.
    /// </summary>
    private static async Task StreamCaptureAsync(HttpContext http, CaptureViewer viewer, string[] names, PcapHeader[] headers,
        int count, TimeSpan duration, CancellationToken ct)
    {
        http.Response.ContentType = CaptureLimits.MediaType;
        http.Response.Headers.CacheControl = "no-store";
        var body = http.Response.Body;
        var pcapng = new PcapngWriter(body);
        var delivered = new ulong[names.Length];
        var ended = new string?[names.Length];
        var why = "";
        try
        {
            await pcapng.WriteSectionHeaderAsync("LTB (Lab Topology Builder)", ct);
            for (var i = 0; i < names.Length; i++)
            {
                await pcapng.WriteInterfaceAsync(names[i], headers[i].LinkType, headers[i].SnapLength, ct);
            }
            await body.FlushAsync(ct);
            using var time = CancellationTokenSource.CreateLinkedTokenSource(ct);
            time.CancelAfter(duration);
            var packets = 0;
            try
            {
                while (packets < count && ended.Any(e => e is null))
                {
                    var item = await viewer.ReadAsync(time.Token);
                    if (item.Packet is not { } packet)
                    {
                        ended[item.InterfaceId] = item.Error is null ? "its capture ended" : $"its capture failed: {item.Error.Message}";
                        continue;
                    }
                    await pcapng.WritePacketAsync(item.InterfaceId, packet, ct);
                    await body.FlushAsync(ct);
                    delivered[item.InterfaceId]++;
                    packets++;
                }
                why = packets >= count ? $"the packet count ({count}) was reached" : "every interface's capture ended";
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                why = $"the time limit ({duration.TotalSeconds:0} s) was reached";
            }
            var end = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
            for (var i = 0; i < names.Length; i++)
            {
                var dropped = (ulong)viewer.Dropped(i);
                await pcapng.WriteStatisticsAsync(i, end, delivered[i], dropped,
                    $"ltb: {delivered[i]} packets delivered to this reader, {dropped} dropped because it read too slowly " +
                    $"(a reader's queue holds {CaptureLimits.ViewerQueuePackets} packets); ended: {ended[i] ?? why}", ct);
            }
            await body.FlushAsync(ct);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && ct.IsCancellationRequested)
        {
            // The reader left: leaving the viewer (the caller disposes it) stops the captures nobody else reads.
        }
    }
}
