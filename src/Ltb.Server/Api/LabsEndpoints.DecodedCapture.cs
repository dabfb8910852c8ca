using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Captures;
using Ltb.Server.Captures.Decoding;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;

namespace Ltb.Server.Api;

/// <summary>
/// Captures decoded for the browser (<see cref="DecodedCapture"/>): <c>POST /labs/{lab}/captures</c> opens one (the same
/// interfaces, filter and bounds as a live capture, plus a Wireshark display filter for the list); its rows, one
/// packet's protocol tree and the pcapng captured so far are read under <c>/labs/{lab}/captures/{id}</c>; DELETE ends it.
/// Opening needs read access to the lab (like a live capture); a capture is its creator's alone (an admin's too).
/// </summary>
public static partial class LabsEndpoints
{
    private static void MapDecodedCaptureEndpoints(RouteGroupBuilder labs)
    {
        labs.MapPost("/{lab}/captures", OpenDecodedCaptureAsync).WithName("OpenDecodedCapture")
            .WithSummary("Start a capture decoded by tshark on the server (interfaces, mirrors, filter, displayFilter, snapLength, count, seconds): 201 with the capture");
        labs.MapGet("/{lab}/captures", ListDecodedCaptures).WithName("ListDecodedCaptures").WithSummary("Your decoded captures of the lab");
        labs.MapGet("/{lab}/captures/{id:guid}", GetDecodedCapture).WithName("GetDecodedCapture").WithSummary("A decoded capture's state");
        labs.MapGet("/{lab}/captures/{id:guid}/packets", DecodedPacketsAsync).WithName("ListDecodedPackets")
            .WithSummary("Decoded packets after frame number `after` (at most `limit`), waiting up to `wait` seconds for new ones");
        labs.MapGet("/{lab}/captures/{id:guid}/packets/{number:int}", PacketTreeAsync).WithName("GetPacketTree")
            .WithSummary("The protocol tree of one captured packet (tshark -V)");
        labs.MapGet("/{lab}/captures/{id:guid}/pcapng", DownloadDecodedCaptureAsync).WithName("DownloadDecodedCapture")
            .Produces<Stream>(StatusCodes.Status200OK, CaptureLimits.MediaType).WithSummary("What the capture has captured so far, as pcapng");
        labs.MapDelete("/{lab}/captures/{id:guid}", CloseDecodedCaptureAsync).WithName("CloseDecodedCapture")
            .WithSummary("Stop a decoded capture and delete what it captured");
    }

    private static async Task<Results<Created<DecodedCaptureDto>, ProblemHttpResult, ValidationProblem>> OpenDecodedCaptureAsync(string lab,
        DecodedCaptureRequest body, Caller caller, LtbDbContext db, IResourceAuthorizer<Lab> authz, IAgentDirectory agents,
        LabStatusCache statuses, CaptureHub hub, DecodedCaptures captures, AuditLog audit, CancellationToken ct)
    {
        var spec = new CaptureSpec([.. body.Interfaces ?? []], [.. body.Mirrors ?? []], body.Filter, body.SnapLength);
        if (ValidateCapture(spec, null, body.Seconds) is { } invalid)
        {
            return invalid;
        }
        if (body.Count is < 1 or > DecodedCaptureLimits.MaxPackets)
        {
            return Problems.Invalid("count", $"is between 1 and {DecodedCaptureLimits.MaxPackets}");
        }
        if (!Tshark.Installed)
        {
            return Problems.Conflict("decoded captures need tshark on the LTB server (Debian package tshark); download the pcapng stream instead");
        }
        var display = string.IsNullOrWhiteSpace(body.DisplayFilter) ? null : body.DisplayFilter.Trim();
        if (display is not null)
        {
            if (display.Length > DecodedCaptureLimits.MaxDisplayFilterLength || display.Any(char.IsControl))
            {
                return Problems.Invalid("displayFilter", $"is one line of at most {DecodedCaptureLimits.MaxDisplayFilterLength} characters (Wireshark's display filter syntax)");
            }
            try
            {
                await Tshark.ValidateAsync(display, ct);
            }
            catch (InvalidDisplayFilterException e)
            {
                return Problems.Invalid("displayFilter", e.Message);
            }
        }
        var (opened, problem) = await OpenCaptureAsync(lab, spec, new CaptureServices(caller, db, authz, agents, statuses, hub, audit), ct);
        if (opened is null)
        {
            return problem is ValidationProblem v ? v : (ProblemHttpResult)problem!;
        }
        var capture = captures.Create(caller.UserId, opened.Lab.Id, opened.Names, spec.Filter, display);
        if (capture is null)
        {
            opened.Viewer.Dispose();
            return Problems.Conflict($"the server runs {DecodedCaptureLimits.MaxCaptures} decoded captures, the most at once; try again later");
        }
        capture.Start(opened.Viewer, opened.Names, opened.Headers, new CaptureBounds(body.Count ?? DecodedCaptureLimits.MaxPackets,
            DecodedCaptureLimits.MaxBytes, TimeSpan.FromSeconds(body.Seconds ?? CaptureLimits.MaxSeconds)));
        return TypedResults.Created($"/api/v1/labs/{opened.Lab.Id}/captures/{capture.Id}", capture.ToDto());
    }

    private static Results<Ok<IReadOnlyList<DecodedCaptureDto>>, ProblemHttpResult> ListDecodedCaptures(
        [For(Operation.Read)] Authorized<Lab> authorized, Caller caller, DecodedCaptures captures) =>
        TypedResults.Ok<IReadOnlyList<DecodedCaptureDto>>([.. captures.Of(caller.UserId, authorized.Value.Id).Select(c => c.ToDto())]);

    private static Results<Ok<DecodedCaptureDto>, ProblemHttpResult> GetDecodedCapture(Guid id,
        [For(Operation.Read)] Authorized<Lab> authorized, Caller caller, DecodedCaptures captures) =>
        CaptureOf(authorized.Value, id, caller, captures) is { } c ? TypedResults.Ok(c.ToDto()) : Problems.NotFound($"capture {id}");

    private static async Task<Results<Ok<DecodedPacketsDto>, ProblemHttpResult, ValidationProblem>> DecodedPacketsAsync(Guid id, int? after,
        int? limit, int? wait, [For(Operation.Read)] Authorized<Lab> authorized, Caller caller, DecodedCaptures captures, CancellationToken ct)
    {
        if (CaptureOf(authorized.Value, id, caller, captures) is not { } capture)
        {
            return Problems.NotFound($"capture {id}");
        }
        if (limit is < 1 or > DecodedCaptureLimits.MaxPageRows || wait is < 0 or > 30 || after is < 0)
        {
            return Problems.Invalid("limit", $"limit is 1 to {DecodedCaptureLimits.MaxPageRows}, wait 0 to 30 (seconds), after a frame number");
        }
        var rows = await capture.RowsAsync(after ?? 0, limit ?? DecodedCaptureLimits.MaxPageRows, TimeSpan.FromSeconds(wait ?? 0), ct);
        return TypedResults.Ok(new DecodedPacketsDto(capture.ToDto(), rows));
    }

    private static async Task<Results<Ok<PacketTreeDto>, ProblemHttpResult>> PacketTreeAsync(Guid id, int number,
        [For(Operation.Read)] Authorized<Lab> authorized, Caller caller, DecodedCaptures captures, CancellationToken ct)
    {
        if (CaptureOf(authorized.Value, id, caller, captures) is not { } capture)
        {
            return Problems.NotFound($"capture {id}");
        }
        var lines = await Tshark.TreeAsync(await capture.CapturedAsync(ct), number, ct);
        return lines.Count == 0 ? Problems.NotFound($"packet {number} in capture {id}") : TypedResults.Ok(new PacketTreeDto(number, lines));
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> DownloadDecodedCaptureAsync(Guid id,
        [For(Operation.Read)] Authorized<Lab> authorized, Caller caller, DecodedCaptures captures, CancellationToken ct)
    {
        if (CaptureOf(authorized.Value, id, caller, captures) is not { } capture)
        {
            return Problems.NotFound($"capture {id}");
        }
        return TypedResults.File(await capture.CapturedAsync(ct), CaptureLimits.MediaType, $"{authorized.Value.Name}-{id:N}.pcapng");
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> CloseDecodedCaptureAsync(Guid id,
        [For(Operation.Read)] Authorized<Lab> authorized, Caller caller, DecodedCaptures captures)
    {
        if (CaptureOf(authorized.Value, id, caller, captures) is not { } capture)
        {
            return Problems.NotFound($"capture {id}");
        }
        await captures.RemoveAsync(capture);
        return TypedResults.NoContent();
    }

    /// <summary>The capture of that lab, if the caller created it (or is an admin).</summary>
    private static DecodedCapture? CaptureOf(Lab lab, Guid id, Caller caller, DecodedCaptures captures) =>
        captures.Find(id) is { } c && c.LabId == lab.Id && (c.UserId == caller.UserId || caller.IsAdmin) ? c : null;
}
