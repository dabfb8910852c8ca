using System.Text.Json;
using Ltb.Server.Labs;
using Ltb.Server.Auth;
using Ltb.Server.Catalog;
using Ltb.Server.Data;
using Ltb.Server.Hosting;
using Ltb.Server.Policy;
using Microsoft.EntityFrameworkCore;

namespace Ltb.Server.Api;

/// <summary>
/// Validation of a topology's text without deploying or storing it: what the web UI's editor shows while one types (the
/// same loader, catalog and caller's rights as a deploy, so a diagnostic here is the one the deploy would give).
/// </summary>
public static class TopologiesEndpoints
{
    /// <summary>Relative paths of the text resolve here: an empty folder (the editor sends no files).</summary>
    private const string EmptyFolder = "validate-empty";

    public static RouteGroupBuilder MapTopologiesEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/topologies/validate", ValidateAsync).WithTags("Templates").WithName("ValidateTopology")
            .WithSummary("Validate a topology's YAML (LTB or containerlab format) with the caller's rights: every diagnostic with its line and column");
        return api;
    }

    private static async Task<Results<Ok<TopologyValidationDto>, ValidationProblem, ProblemHttpResult>> ValidateAsync(ValidateTopologyRequest request,
        Caller caller, NodeTypeStore nodeTypes, PolicyStore policies, IResourceAuthorizer<Data.LabHost> hosts, LtbServerOptions options,
        LtbDbContext db, IResourceAuthorizer<LabTemplate> templates, CancellationToken ct)
    {
        var fileName = string.IsNullOrWhiteSpace(request.FileName) ? "topology.yml" : request.FileName.Trim();
        if (fileName.Contains('/', StringComparison.Ordinal) || fileName.Contains('\\', StringComparison.Ordinal) || fileName.Length > 200)
        {
            return Problems.Invalid("fileName", "is a plain file name (no folder), at most 200 characters");
        }
        if (request.Text is null)
        {
            return Problems.Invalid("text", "is required (the topology's YAML)");
        }
        if (request.Files is { } paths
            && (request.Template is not null ? "are for a folder not uploaded yet; a template brings its own files" : FilesProblem(paths)) is { } filesProblem)
        {
            return Problems.Invalid("files", filesProblem);
        }
        var folder = Path.Combine(options.DataDirectory, EmptyFolder);
        string? filesFolder = null;
        if (request.Files is { Count: > 0 })
        {
            filesFolder = folder = Path.Combine(options.DataDirectory, "validate-" + Guid.NewGuid().ToString("N"));
        }
        else if (request.Template is { } templateId)
        {
            // The template's files, with the caller's right to read the template (the same answer as GET /templates/{id}).
            var template = await templates.Visible(db.LabTemplates, caller).FirstOrDefaultAsync(t => t.Id == templateId, ct);
            if (template is null)
            {
                return Problems.NotFound("template");
            }
            var version = request.TemplateVersion ?? template.CurrentVersion;
            filesFolder = folder = Path.Combine(options.DataDirectory, "validate-" + Guid.NewGuid().ToString("N"));
            await WriteFilesAsync(db, templateId, version, folder, ct);
        }
        try
        {
            Directory.CreateDirectory(folder);
            if (request.Files is { Count: > 0 } placeholders)
            {
                WritePlaceholders(placeholders, folder);
            }
            var loadOptions = await policies.LoadOptionsAsync(caller, await nodeTypes.CatalogAsync(ct), hosts, ct);
            // The loader bounds the text itself (size, depth, aliases) and never throws for bad input.
            var result = Ltb.Topology.TopologyLoader.LoadText(request.Text, Path.Combine(folder, fileName),
                loadOptions with { Environment = new Dictionary<string, string>() });
            var diagnostics = result.Diagnostics.Select(d => TopologyProblems.ToDto(d) with { File = Path.GetFileName(d.Span.File) }).ToList();
            // Only what a preview draws: the full model names paths in the server's scratch folder.
            var model = result.ValidLab is { } valid
                ? JsonSerializer.SerializeToElement(new
                {
                    nodes = valid.Nodes.Select(n => new { name = n.Name, kind = n.Kind }),
                    links = valid.Links.Select(l => new { endpoints = l.Endpoints.Select(e => new { node = e.Node, @interface = e.Interface }) }),
                })
                : (JsonElement?)null;
            return TypedResults.Ok(new TopologyValidationDto(result.ValidLab is not null, result.Lab?.Name, diagnostics, model));
        }
        finally
        {
            if (filesFolder is not null && Directory.Exists(filesFolder))
            {
                Directory.Delete(filesFolder, recursive: true);
            }
        }
    }

    /// <summary>Null when the paths are acceptable: as many as an upload may carry, each one as an upload's.</summary>
    private static string? FilesProblem(IReadOnlyList<string> paths) =>
        paths.Count > LabSources.MaxFiles ? $"at most {LabSources.MaxFiles} paths"
        : paths.Select(LabSources.CheckPath).FirstOrDefault(why => why is not null);

    /// <summary>An empty file under each path: the loader checks that references resolve, not what the files hold.</summary>
    private static void WritePlaceholders(IReadOnlyList<string> paths, string folder)
    {
        foreach (var path in paths)
        {
            var full = Path.GetFullPath(Path.Combine(folder, path));
            if (!full.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                continue; // checked above; never write outside the folder
            }
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                File.Create(full).Dispose();
            }
            catch (IOException)
            {
                // "a" and "a/b" both: one of them cannot be; a reference to it then reports itself unresolved
            }
        }
    }

    /// <summary>A template version's files under their paths (stored bounded at upload: 500 files, 16 MiB each).</summary>
    private static async Task WriteFilesAsync(LtbDbContext db, Guid template, int version, string folder, CancellationToken ct)
    {
        var files = await db.LabTemplateFiles.AsNoTracking().Where(f => f.TemplateId == template && f.VersionNumber == version).ToListAsync(ct);
        foreach (var file in files)
        {
            var path = Path.GetFullPath(Path.Combine(folder, file.Path));
            if (!path.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                continue; // paths were checked at upload; never write outside the folder
            }
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllBytesAsync(path, file.Content, ct);
        }
    }
}
