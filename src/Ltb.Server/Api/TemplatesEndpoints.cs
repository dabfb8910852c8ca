using System.Text.Json;
using System.Text.RegularExpressions;
using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Catalog;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Labs;
using Ltb.Server.Policy;
using Ltb.Server.Snapshots;
using Ltb.Server.Templates;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>
/// /api/v1/templates: the template store. Templates (LTB or containerlab topologies with their files) in numbered
/// versions, with owner, visibility, description and tags. Access rules: <see cref="LabTemplateAuthorizer"/>.
/// </summary>
public static partial class TemplatesEndpoints
{
    private const string What = "template";
    private const int MaxTags = 20;

    public static RouteGroupBuilder MapTemplatesEndpoints(this RouteGroupBuilder api)
    {
        var templates = api.MapGroup("/templates").WithTags("Templates");
        templates.MapGet("/", ListAsync).WithName("ListTemplates")
            .WithSummary("The templates one may see (filters: q = part of name or description, name, tag, owner = id or user name, visibility)");
        templates.MapPost("/", CreateAsync).WithName("CreateTemplate").DisableAntiforgery()
            .WithSummary("Upload a template (multipart: topology and files, or snapshot = a snapshot's id (its prepared state); name, description, tags, visibility=private|group|everyone, groupId); 422 lists every diagnostic");
        templates.MapGet("/{id:guid}", GetAsync).WithName("GetTemplate").WithSummary("A template's metadata and current version; the ETag is its version");
        templates.MapPatch("/{id:guid}", UpdateAsync).WithName("UpdateTemplate").WithSummary("Change name, description, tags or visibility (If-Match)");
        templates.MapDelete("/{id:guid}", DeleteAsync).WithName("DeleteTemplate").WithSummary("Delete a template with all its versions");
        templates.MapGet("/{id:guid}/versions", ListVersionsAsync).WithName("ListTemplateVersions").WithSummary("The template's versions, newest first");
        templates.MapPost("/{id:guid}/versions", AddVersionAsync).WithName("AddTemplateVersion").DisableAntiforgery()
            .WithSummary("Upload a new version (multipart: topology and files, or snapshot = a snapshot's id; If-Match); 422 lists every diagnostic");
        templates.MapGet("/{id:guid}/versions/{number:int}", GetVersionAsync).WithName("GetTemplateVersion").WithSummary("One version: YAML as uploaded, resolved model, files, warnings");
        templates.MapGet("/{id:guid}/versions/{number:int}/source", SourceAsync).WithName("GetTemplateVersionSource")
            .Produces<string>(StatusCodes.Status200OK, "application/yaml")
            .WithSummary("The version's topology file byte for byte (application/yaml)");
        return api;
    }

    // ------------------------------------------------------------------ read

    private static async Task<Results<Ok<Paged<TemplateDto>>, ValidationProblem>> ListAsync(Caller caller, LtbDbContext db,
        IResourceAuthorizer<LabTemplate> authz, string? q, string? name, string? tag, string? owner, string? visibility,
        [AsParameters] PageQuery paging, CancellationToken ct)
    {
        var query = authz.Visible(db.LabTemplates, caller);
        if (!string.IsNullOrWhiteSpace(q))
        {
            var needle = q.Trim().ToLowerInvariant();
            query = query.Where(t => t.Name.ToLower().Contains(needle) || t.Description.ToLower().Contains(needle));
        }
        if (!string.IsNullOrEmpty(name))
        {
            query = query.Where(t => t.Name == name);
        }
        if (!string.IsNullOrEmpty(tag))
        {
            var wanted = tag.Trim().ToLowerInvariant();
            query = query.Where(t => t.Tags.Any(x => x.Tag == wanted));
        }
        if (!string.IsNullOrEmpty(owner))
        {
            query = Guid.TryParse(owner, out var ownerId)
                ? query.Where(t => t.OwnerId == ownerId)
                : query.Where(t => t.Owner!.UserName == owner);
        }
        if (!string.IsNullOrEmpty(visibility))
        {
            if (TemplateStore.ParseVisibility(visibility) is not { } v)
            {
                return Problems.Invalid("visibility", $"is private, group or everyone, not '{visibility}'");
            }
            query = query.Where(t => t.Visibility == v);
        }
        var result = await query.Include(t => t.Owner).Include(t => t.Tags).AsSplitQuery()
            .OrderBy(t => t.Name).ThenBy(t => t.Id).ToPageAsync(paging.Request, t => ToDto(t), ct);
        return TypedResults.Ok(result);
    }

    private static async Task<Results<Ok<TemplateDto>, ProblemHttpResult>> GetAsync([For(Operation.Read)] Authorized<LabTemplate> template,
        LtbDbContext db, HttpContext http, CancellationToken ct)
    {
        var t = template.Value;
        ETags.Set(http, t);
        return TypedResults.Ok(ToDto(t, await VersionDtoAsync(db, t.Id, t.CurrentVersion, ct)));
    }

    private static async Task<Results<Ok<Paged<TemplateVersionSummaryDto>>, ProblemHttpResult, ValidationProblem>> ListVersionsAsync(
        [AsParameters] PageQuery paging, [For(Operation.Read)] Authorized<LabTemplate> template, LtbDbContext db, CancellationToken ct)
    {
        var id = template.Value.Id;
        var result = await db.LabTemplateVersions.Where(v => v.TemplateId == id).OrderByDescending(v => v.Number)
            .Select(v => new TemplateVersionSummaryDto(v.Number, v.FileName, v.Format, v.LabName, v.CreatedByName, v.CreatedAt))
            .ToPageAsync(paging.Request, v => v, ct);
        return TypedResults.Ok(result);
    }

    private static async Task<Results<Ok<TemplateVersionDto>, ProblemHttpResult>> GetVersionAsync(
        [For(Operation.Read)] Authorized<LabTemplate> template, int number, LtbDbContext db, CancellationToken ct)
    {
        return await VersionDtoAsync(db, template.Value.Id, number, ct) is { } version
            ? TypedResults.Ok(version)
            : Problems.NotFound($"version {number} of template '{template.Value.Name}'");
    }

    private static async Task<Results<FileContentHttpResult, ProblemHttpResult>> SourceAsync(
        [For(Operation.Read)] Authorized<LabTemplate> template, int number, LtbDbContext db, CancellationToken ct)
    {
        var id = template.Value.Id;
        var source = await db.LabTemplateVersions.Where(v => v.TemplateId == id && v.Number == number).Select(v => v.Source)
            .FirstOrDefaultAsync(ct);
        return source is null
            ? Problems.NotFound($"version {number} of template '{template.Value.Name}'")
            : TypedResults.Bytes(source, "application/yaml");
    }

    // ------------------------------------------------------------------ write

    [Requires<LabTemplate>(Operation.Create)]
    private static async Task<Results<Created<TemplateDto>, ProblemHttpResult, ValidationProblem>> CreateAsync(HttpRequest request,
        Caller caller, LtbDbContext db, NodeTypeStore nodeTypes, LtbServerOptions options, AuditLog audit, PolicyStore policy,
        IResourceAuthorizer<LabHost> hosts, SnapshotSource snapshots, CancellationToken ct)
    {
        if (!request.HasFormContentType)
        {
            return Problems.Invalid("topology", "send the template as multipart/form-data (a 'topology' file, its files as 'files')");
        }
        var form = await request.ReadFormAsync(ct);
        var v = new Validation().MaxLength("description", form["description"].ToString(), 2000);
        var tags = Tags(form["tags"].SelectMany(t => (t ?? "").Split(',')), v);
        var (visibility, groupId) = Sharing(form["visibility"].ToString(), form["groupId"].ToString(), caller, v);
        if (!v.IsValid)
        {
            return Problems.Invalid(v.Errors);
        }
        if (groupId is { } gid && !await db.Groups.AnyAsync(g => g.Id == gid, ct))
        {
            return Problems.Invalid("groupId", "no such group");
        }
        var (upload, invalid, unprocessable) = await ReceiveAsync(form, caller, nodeTypes, options, policy, hosts, snapshots, ct);
        if (invalid is not null)
        {
            return invalid;
        }
        if (unprocessable is not null)
        {
            return unprocessable;
        }
        var name = form["name"].ToString() is { Length: > 0 } n ? n : upload!.Topology.Lab!.Name;
        if (!LabNames.Valid().IsMatch(name))
        {
            return Problems.Invalid("name", $"'{name}' is not a valid template name ({LabNames.Rule}); choose one with --name");
        }
        if (await db.LabTemplates.AnyAsync(t => t.OwnerId == caller.UserId && t.Name == name, ct))
        {
            return Problems.Conflict($"you have a template named '{name}' already; add a version to it (ltb template push) or choose another name");
        }
        var now = DateTimeOffset.UtcNow;
        var template = new LabTemplate
        {
            Id = Guid.NewGuid(), Name = name, OwnerId = caller.UserId, Visibility = visibility, GroupId = groupId,
            Description = form["description"].ToString(), CreatedAt = now,
            Tags = [.. tags.Select(tag => new LabTemplateTag { Tag = tag })],
        };
        db.LabTemplates.Add(template);
        TemplateStore.AddVersion(db, template, 1, upload!, caller.UserId, caller.UserName, now);
        audit.Record(AuditActions.Created, What, template.Id, $"{name} ({upload!.Topology.FileName})");
        await db.SaveChangesAsync(ct);
        request.HttpContext.Response.Headers.ETag = ETags.For(template.Version);
        template.Owner = new LtbUser { Id = caller.UserId, UserName = caller.UserName };
        return TypedResults.Created($"/api/v1/templates/{template.Id}", ToDto(template, await VersionDtoAsync(db, template.Id, 1, ct)));
    }

    private static async Task<Results<Created<TemplateVersionDto>, ProblemHttpResult, ValidationProblem>> AddVersionAsync(
        [For(Operation.Update)] Authorized<LabTemplate> authorized, HttpRequest request, Caller caller, LtbDbContext db,
        NodeTypeStore nodeTypes, LtbServerOptions options, AuditLog audit, PolicyStore policy, IResourceAuthorizer<LabHost> hosts,
        SnapshotSource snapshots, CancellationToken ct)
    {
        var template = authorized.Value;
        var id = template.Id;
        if (!ETags.Check(request.HttpContext, db, template))
        {
            return Problems.PreconditionFailed();
        }
        if (!request.HasFormContentType)
        {
            return Problems.Invalid("topology", "send the version as multipart/form-data (a 'topology' file, its files as 'files')");
        }
        var (upload, invalid, unprocessable) = await ReceiveAsync(await request.ReadFormAsync(ct), caller, nodeTypes, options, policy, hosts,
            snapshots, ct);
        if (invalid is not null)
        {
            return invalid;
        }
        if (unprocessable is not null)
        {
            return unprocessable;
        }
        var number = template.CurrentVersion + 1;
        TemplateStore.AddVersion(db, template, number, upload!, caller.UserId, caller.UserName, DateTimeOffset.UtcNow);
        audit.Record(AuditActions.Updated, What, template.Id, $"{template.Name}: version {number} ({upload!.Topology.FileName})");
        await db.SaveChangesAsync(ct);
        request.HttpContext.Response.Headers.ETag = ETags.For(template.Version);
        return TypedResults.Created($"/api/v1/templates/{id}/versions/{number}", await VersionDtoAsync(db, id, number, ct));
    }

    private static async Task<Results<Ok<TemplateDto>, ProblemHttpResult, ValidationProblem>> UpdateAsync(
        [For(Operation.Update)] Authorized<LabTemplate> authorized, UpdateTemplateRequest request, Caller caller, LtbDbContext db,
        AuditLog audit, HttpContext http, CancellationToken ct)
    {
        var template = authorized.Value;
        var v = new Validation().MaxLength("description", request.Description, 2000);
        if (request.Name is not null && !LabNames.Valid().IsMatch(request.Name))
        {
            v.Add("name", $"'{request.Name}' is not a valid template name ({LabNames.Rule})");
        }
        var tags = request.Tags is null ? null : Tags(request.Tags, v);
        var visibility = template.Visibility;
        var groupId = template.GroupId;
        if (request.Visibility is not null || request.GroupId is not null)
        {
            (visibility, groupId) = Sharing(request.Visibility ?? TemplateStore.Name(template.Visibility),
                request.GroupId?.ToString() ?? template.GroupId?.ToString() ?? "", caller, v);
        }
        if (!v.IsValid)
        {
            return Problems.Invalid(v.Errors);
        }
        if (!ETags.Check(http, db, template))
        {
            return Problems.PreconditionFailed();
        }
        if (groupId is { } gid && gid != template.GroupId && !await db.Groups.AnyAsync(g => g.Id == gid, ct))
        {
            return Problems.Invalid("groupId", "no such group");
        }
        if (request.Name is not null && request.Name != template.Name
            && await db.LabTemplates.AnyAsync(t => t.OwnerId == template.OwnerId && t.Name == request.Name, ct))
        {
            return Problems.Conflict($"the owner has a template named '{request.Name}' already");
        }
        template.Name = request.Name ?? template.Name;
        template.Description = request.Description ?? template.Description;
        template.Visibility = visibility;
        template.GroupId = groupId;
        if (tags is not null)
        {
            // Only the difference: a tag removed and added again in one save would be two rows with one key.
            foreach (var gone in template.Tags.Where(x => !tags.Contains(x.Tag)).ToList())
            {
                template.Tags.Remove(gone);
                db.LabTemplateTags.Remove(gone);
            }
            foreach (var added in tags.Where(x => template.Tags.All(y => y.Tag != x)))
            {
                template.Tags.Add(new LabTemplateTag { TemplateId = template.Id, Tag = added });
            }
        }
        template.UpdatedAt = DateTimeOffset.UtcNow;
        audit.Record(AuditActions.Updated, What, template.Id, template.Name);
        await db.SaveChangesAsync(ct);
        ETags.Set(http, template);
        return TypedResults.Ok(ToDto(template));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync([For(Operation.Delete)] Authorized<LabTemplate> template,
        LtbDbContext db, AuditLog audit, CancellationToken ct)
    {
        // Versions, files and tags go with it (cascading foreign keys); labs deployed from it keep their own copy.
        db.LabTemplates.Remove(template.Value);
        audit.Record(AuditActions.Deleted, What, template.Value.Id, template.Value.Name);
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>Stages the upload, loads it with the effective catalog and the caller's rights; the upload or the problem.</summary>
    private static async Task<(TemplateUpload? Upload, ValidationProblem? Invalid, ProblemHttpResult? Unprocessable)> ReceiveAsync(
        IFormCollection form, Caller caller, NodeTypeStore nodeTypes, LtbServerOptions options, PolicyStore policy,
        IResourceAuthorizer<LabHost> hosts, SnapshotSource snapshots, CancellationToken ct)
    {
        var topology = form.Files.GetFile("topology");
        var snapshotRef = form["snapshot"].ToString();
        if (topology is null && snapshotRef.Length == 0)
        {
            return (null, Problems.Invalid("topology", "a 'topology' file (or a 'snapshot' id) is required"), null);
        }
        var staging = TemplateStore.StagingDirectory(options.DataDirectory);
        try
        {
            string fileName;
            if (snapshotRef.Length > 0)
            {
                // Published from a snapshot: its files and the nodes' saved states (.ltb-snapshot/), which a lab deployed
                // from this version gets back ("the prepared state").
                var (written, refused) = await snapshots.WriteAsync(snapshotRef, caller, staging, ct);
                if (refused is not null)
                {
                    return (null, null, refused);
                }
                fileName = written!;
            }
            else if (await LabSources.StoreAsync(staging, topology!, form.Files.GetFiles("files"), ct) is { } stored)
            {
                return (null, Problems.Invalid("files", stored), null);
            }
            else
            {
                fileName = topology!.FileName;
            }
            var upload = TemplateStore.Load(staging, fileName, await policy.LoadOptionsAsync(caller, await nodeTypes.CatalogAsync(ct), hosts, ct));
            if (upload.Topology.Result.HasErrors)
            {
                return (null, null, TopologyProblems.Unprocessable(upload.Topology.Diagnostics, "topology"));
            }
            return (upload, null, null);
        }
        finally
        {
            TemplateStore.DeleteFolder(staging);
        }
    }

    private static List<string> Tags(IEnumerable<string> given, Validation v)
    {
        var tags = given.Select(t => t.Trim().ToLowerInvariant()).Where(t => t.Length > 0).Distinct().Order(StringComparer.Ordinal).ToList();
        foreach (var bad in tags.Where(t => !Tag().IsMatch(t)))
        {
            v.Add("tags", $"'{bad}' is not a tag ({TagRule})");
        }
        if (tags.Count > MaxTags)
        {
            v.Add("tags", $"at most {MaxTags} tags");
        }
        return tags;
    }

    /// <summary>Visibility and group: a template is shared with a group its owner is a member of (admins: any group).</summary>
    private static (TemplateVisibility Visibility, Guid? GroupId) Sharing(string visibility, string groupId, Caller caller, Validation v)
    {
        if (TemplateStore.ParseVisibility(visibility) is not { } parsed)
        {
            v.Add("visibility", $"is private, group or everyone, not '{visibility}'");
            return (TemplateVisibility.Private, null);
        }
        if (parsed != TemplateVisibility.Group)
        {
            return (parsed, null);
        }
        if (!Guid.TryParse(groupId, out var gid))
        {
            v.Add("groupId", "visibility 'group' needs the group's id (groupId)");
            return (parsed, null);
        }
        if (!caller.IsAdmin && !caller.IsMemberOf(gid))
        {
            v.Add("groupId", "share a template only with a group you are a member of");
        }
        return (parsed, gid);
    }

    private static TemplateDto ToDto(LabTemplate t, TemplateVersionDto? current = null) =>
        new(t.Id, t.Name, t.OwnerId, t.Owner?.UserName ?? "", TemplateStore.Name(t.Visibility), t.GroupId, t.Description,
            [.. t.Tags.Select(x => x.Tag).Order(StringComparer.Ordinal)], t.CurrentVersion, t.Format, t.CreatedAt, t.UpdatedAt,
            t.Version, current);

    private static async Task<TemplateVersionDto?> VersionDtoAsync(LtbDbContext db, Guid id, int number, CancellationToken ct)
    {
        var v = await db.LabTemplateVersions.AsNoTracking().FirstOrDefaultAsync(x => x.TemplateId == id && x.Number == number, ct);
        if (v is null)
        {
            return null;
        }
        var files = await db.LabTemplateFiles.Where(f => f.TemplateId == id && f.VersionNumber == number).OrderBy(f => f.Path)
            .Select(f => new TemplateFileDto(f.Path, f.Content.Length)).ToListAsync(ct);
        using var model = JsonDocument.Parse(v.ModelJson);
        var yaml = new StreamReader(new MemoryStream(v.Source), System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true).ReadToEnd();
        return new TemplateVersionDto(v.Number, v.FileName, v.Format, v.LabName, yaml, model.RootElement.Clone(), files,
            JsonSerializer.Deserialize<List<DiagnosticDto>>(v.WarningsJson, JsonSerializerOptions.Web) ?? [], v.CreatedByName, v.CreatedAt);
    }

    private const string TagRule = "lower-case letters, digits, '.', '_', '-', at most 40 characters";

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,39}$")]
    private static partial Regex Tag();
}
