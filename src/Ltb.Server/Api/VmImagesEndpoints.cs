using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Catalog;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>
/// /api/v1/vm-images: the controller's VM image library (<see cref="VmImageStore"/>). Everyone signed in reads it; admins
/// add images (a streamed upload, or a file on the controller's host) and delete them. Access rules: <see cref="VmImageAuthorizer"/>.
/// </summary>
public static class VmImagesEndpoints
{
    private const string What = "VM image";

    public static RouteGroupBuilder MapVmImagesEndpoints(this RouteGroupBuilder api)
    {
        var images = api.MapGroup("/vm-images").WithTags("VM images");
        images.MapGet("/", ListAsync).WithName("ListVmImages").WithSummary("The controller's VM image library (filter: nodeType)");
        images.MapPost("/", UploadAsync).WithName("UploadVmImage").DisableAntiforgery()
            .WithSummary("Add a VM disk image by streaming it as the body (admin; name, version, nodeType, sha256 and optionally format in the query)");
        images.MapPost("/import", ImportAsync).WithName("ImportVmImage")
            .WithSummary("Add a VM disk image from a file on the controller's host (admin); the file is copied into the library");
        images.MapGet("/{id:guid}", GetAsync).WithName("GetVmImage").WithSummary("One VM image of the library");
        images.MapDelete("/{id:guid}", DeleteAsync).WithName("DeleteVmImage")
            .WithSummary("Remove a VM image from the library (admin); hosts' cached copies are no longer used by new deployments");
        return api;
    }

    public static VmImageDto ToDto(StoredVmImage i) =>
        new(i.Id, i.Name, i.Tag, i.Reference, i.NodeType, i.Format, i.Sha256, i.SizeBytes, i.Source.ToString().ToLowerInvariant(), i.CreatedAt);

    [Requires<StoredVmImage>(Operation.Read)]
    private static async Task<Results<Ok<Paged<VmImageDto>>, ProblemHttpResult, ValidationProblem>> ListAsync(LtbDbContext db, string? nodeType,
        [AsParameters] PageQuery paging, CancellationToken ct)
    {
        var query = db.VmImages.AsNoTracking();
        if (!string.IsNullOrEmpty(nodeType))
        {
            query = query.Where(i => i.NodeType == nodeType);
        }
        return TypedResults.Ok(await query.OrderBy(i => i.Name).ThenBy(i => i.Tag).ToPageAsync(paging.Request, ToDto, ct));
    }

    private static Ok<VmImageDto> GetAsync([For(Operation.Read)] Authorized<StoredVmImage> image) => TypedResults.Ok(ToDto(image.Value));

    /// <summary>
    /// The body is the disk, streamed: never buffered whole, cut off past <see cref="LtbServerOptions.VmImageMaxBytes"/>,
    /// hashed as it comes and compared with the announced SHA-256 before the image exists.
    /// </summary>
    [Requires<StoredVmImage>(Operation.Create)]
    private static async Task<Results<Created<VmImageDto>, ProblemHttpResult, ValidationProblem>> UploadAsync(HttpContext http,
        [FromQuery] string? name, [FromQuery] string? version, [FromQuery] string? nodeType, [FromQuery] string? sha256, [FromQuery] string? format,
        Caller caller, VmImageStore store, LtbServerOptions options, LtbDbContext db, AuditLog audit, CancellationToken ct)
    {
        var v = new Validation();
        foreach (var (field, value) in new[] { ("name", name), ("version", version), ("nodeType", nodeType), ("sha256", sha256) })
        {
            v = string.IsNullOrWhiteSpace(value) ? v.Add(field, "is required (a query parameter)") : v;
        }
        if (!v.IsValid)
        {
            return Problems.Invalid(v.Errors);
        }
        if (http.Request.ContentLength > options.VmImageMaxBytes)
        {
            return Problems.TooLarge($"the disk has {http.Request.ContentLength} bytes; a VM image may have at most {options.VmImageMaxBytes} here (LTB_VM_IMAGE_MAX_BYTES)");
        }
        // Kestrel's default body limit (30 MB) is for everything else; this endpoint counts the bytes itself.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = options.VmImageMaxBytes + 1;
        }
        var added = await store.AddAsync(new VmImageAddition(name!, version!, nodeType!, format, sha256, VmImageSource.Upload), http.Request.Body, caller.UserId, ct);
        return await AnswerAsync(added, db, audit, ct);
    }

    [Requires<StoredVmImage>(Operation.Create)]
    private static async Task<Results<Created<VmImageDto>, ProblemHttpResult, ValidationProblem>> ImportAsync(ImportVmImageRequest request,
        Caller caller, VmImageStore store, LtbDbContext db, AuditLog audit, CancellationToken ct)
    {
        if (!Path.IsPathFullyQualified(request.Path ?? "") || !File.Exists(request.Path))
        {
            return Problems.Invalid("path", $"'{request.Path}' is not a file on the controller's host (give an absolute path to a qcow2 or raw disk)");
        }
        await using var disk = new FileStream(request.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var added = await store.AddAsync(new VmImageAddition(request.Name ?? "", request.Version ?? "", request.NodeType ?? "", request.Format,
            request.Sha256, VmImageSource.Path), disk, caller.UserId, ct);
        return await AnswerAsync(added, db, audit, ct);
    }

    private static async Task<Results<Created<VmImageDto>, ProblemHttpResult, ValidationProblem>> AnswerAsync(VmImageAdded added, LtbDbContext db,
        AuditLog audit, CancellationToken ct)
    {
        if (added.Image is { } image)
        {
            audit.Record(AuditActions.Created, "vm-image", image.Id, $"{image.Reference} ({image.Format}, {image.SizeBytes} bytes, sha256 {image.Sha256})");
            await db.SaveChangesAsync(ct);
            return TypedResults.Created($"/api/v1/vm-images/{image.Id}", ToDto(image));
        }
        return added.TooLarge ? Problems.TooLarge(added.Problem!)
            : added.Conflict ? Problems.Conflict(added.Problem!)
            : Problems.Invalid(added.Field ?? "disk", added.Problem!);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync([For(Operation.Delete)] Authorized<StoredVmImage> image,
        VmImageStore store, AuditLog audit, CancellationToken ct)
    {
        audit.Record(AuditActions.Deleted, "vm-image", image.Value.Id, image.Value.Reference);
        await store.DeleteAsync(image.Value, ct);
        return TypedResults.NoContent();
    }
}
