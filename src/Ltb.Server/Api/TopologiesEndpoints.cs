using Ltb.Server.Auth;
using Ltb.Server.Catalog;
using Ltb.Server.Hosting;
using Ltb.Server.Policy;

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

    private static async Task<Results<Ok<TopologyValidationDto>, ValidationProblem>> ValidateAsync(ValidateTopologyRequest request,
        Caller caller, NodeTypeStore nodeTypes, PolicyStore policies, IResourceAuthorizer<Data.LabHost> hosts, LtbServerOptions options,
        CancellationToken ct)
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
        var folder = Path.Combine(options.DataDirectory, EmptyFolder);
        Directory.CreateDirectory(folder);
        var loadOptions = await policies.LoadOptionsAsync(caller, await nodeTypes.CatalogAsync(ct), hosts, ct);
        // The loader bounds the text itself (size, depth, aliases) and never throws for bad input.
        var result = Ltb.Topology.TopologyLoader.LoadText(request.Text, Path.Combine(folder, fileName),
            loadOptions with { Environment = new Dictionary<string, string>() });
        var diagnostics = result.Diagnostics.Select(d => TopologyProblems.ToDto(d) with { File = Path.GetFileName(d.Span.File) }).ToList();
        return TypedResults.Ok(new TopologyValidationDto(result.ValidLab is not null, result.Lab?.Name, diagnostics));
    }
}
