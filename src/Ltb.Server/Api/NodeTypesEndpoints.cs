using Ltb.Server.Audit;
using Ltb.Server.Auth;
using Ltb.Server.Catalog;
using Ltb.Server.Data;
using Ltb.Topology.Catalog;
using Microsoft.EntityFrameworkCore;
using Microsoft.Net.Http.Headers;

namespace Ltb.Server.Api;

/// <summary>
/// /api/v1/node-types: the effective device catalog (built-in types with the admins' changes, see
/// <see cref="NodeTypeStore"/>). Everyone signed in reads it; admins create, update and retire types. Access rules:
/// <see cref="NodeTypeAuthorizer"/>.
/// </summary>
public static class NodeTypesEndpoints
{
    private const string What = "node type";

    public static RouteGroupBuilder MapNodeTypesEndpoints(this RouteGroupBuilder api)
    {
        var types = api.MapGroup("/node-types").WithTags("Node types");
        types.MapGet("/", ListAsync).WithName("ListNodeTypes").WithSummary("The effective device catalog (filters: q = part of name or description, runtime, retired)");
        types.MapPost("/", CreateAsync).WithName("CreateNodeType").WithSummary("Add a node type from its YAML definition (admin); 422 lists every diagnostic");
        types.MapGet("/{name}", GetAsync).WithName("GetNodeType").WithSummary("One node type (name or containerlab alias); the ETag is its version (0: as shipped)");
        types.MapPatch("/{name}", UpdateAsync).WithName("UpdateNodeType")
            .WithSummary("Redefine (definition, same name) or retire / put back in service (retired) a node type (admin, If-Match)");
        return api;
    }

    private static async Task<Results<Ok<Paged<NodeTypeDto>>, ValidationProblem>> ListAsync(LtbDbContext db, NodeTypeHosts runners, string? q,
        string? runtime, bool? retired, [AsParameters] PageQuery page, CancellationToken ct)
    {
        var paging = page.Request;
        var rows = await db.NodeTypes.AsNoTracking().ToDictionaryAsync(r => r.Name, StringComparer.Ordinal, ct);
        var hosts = await runners.LoadAsync(ct);
        var all = NodeTypeStore.Effective(rows.Values).Types.Select(t => ToDto(t, rows.GetValueOrDefault(t.Name), hosts));
        if (!string.IsNullOrWhiteSpace(q))
        {
            var needle = q.Trim();
            all = all.Where(t => t.Name.Contains(needle, StringComparison.OrdinalIgnoreCase)
                || t.Description.Contains(needle, StringComparison.OrdinalIgnoreCase)
                || t.Aliases.Contains(needle, StringComparer.OrdinalIgnoreCase));
        }
        if (!string.IsNullOrEmpty(runtime))
        {
            all = all.Where(t => t.Runtime == runtime);
        }
        if (retired is { } r)
        {
            all = all.Where(t => t.Retired == r);
        }
        // The catalog is small (tens of types) and merged from two sources: paged in memory, ordered by name.
        var list = all.ToList();
        return TypedResults.Ok(new Paged<NodeTypeDto>(list.Skip((paging.Page - 1) * paging.PageSize).Take(paging.PageSize).ToList(),
            paging.Page, paging.PageSize, list.Count));
    }

    private static async Task<Results<Ok<NodeTypeDto>, ProblemHttpResult>> GetAsync(string name, LtbDbContext db, NodeTypeHosts runners,
        HttpContext http, CancellationToken ct)
    {
        var (type, row) = await FindAsync(db, name, ct);
        if (type is null)
        {
            return Problems.NotFound($"{What} '{name}'");
        }
        http.Response.Headers.ETag = ETags.For(row?.Version ?? 0);
        return TypedResults.Ok(ToDto(type, row, await runners.LoadAsync(ct)));
    }

    [Requires<StoredNodeType>(Operation.Create)]
    private static async Task<Results<Created<NodeTypeDto>, ProblemHttpResult, ValidationProblem>> CreateAsync(
        CreateNodeTypeRequest request, LtbDbContext db, NodeTypeHosts runners, AuditLog audit, HttpContext http, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(request.Definition))
        {
            return Problems.Invalid("definition", "give the node type's YAML definition");
        }
        var (type, diagnostics) = NodeTypeStore.Validate(request.Definition);
        if (type is null)
        {
            return TopologyProblems.Unprocessable(diagnostics, "node type definition", "definition");
        }
        var (existing, _) = await FindAsync(db, type.Name, ct);
        if (existing is not null)
        {
            return Problems.Conflict($"node type '{type.Name}' exists already{(existing.Name == type.Name ? "" : $" (an alias of '{existing.Name}')")}; " +
                "change it with PATCH /api/v1/node-types/" + existing.Name);
        }
        var now = DateTimeOffset.UtcNow;
        var row = new StoredNodeType { Id = Guid.NewGuid(), Name = type.Name, Definition = request.Definition, CreatedAt = now, UpdatedAt = now };
        db.NodeTypes.Add(row);
        audit.Record(AuditActions.Created, "node-type", type.Name);
        await db.SaveChangesAsync(ct);
        http.Response.Headers.ETag = ETags.For(row.Version);
        return TypedResults.Created($"/api/v1/node-types/{type.Name}", ToDto(type, row, await runners.LoadAsync(ct)));
    }

    // Built-in types have no row until an admin changes them: the check is on the collection.
    [Requires<StoredNodeType>(Operation.Update)]
    private static async Task<Results<Ok<NodeTypeDto>, ProblemHttpResult, ValidationProblem>> UpdateAsync(string name,
        UpdateNodeTypeRequest request, LtbDbContext db, NodeTypeHosts runners, AuditLog audit, HttpContext http, CancellationToken ct)
    {
        var (current, row) = await FindAsync(db, name, ct);
        if (current is null)
        {
            return Problems.NotFound($"{What} '{name}'");
        }
        name = current.Name;
        if (request.Definition is not null)
        {
            var (type, diagnostics) = NodeTypeStore.Validate(request.Definition);
            if (type is null)
            {
                return TopologyProblems.Unprocessable(diagnostics, "node type definition", "definition");
            }
            if (type.Name != name)
            {
                return Problems.Invalid("definition", $"names type '{type.Name}', not '{name}'; a type keeps its name " +
                    "(create the new type and retire this one)");
            }
        }
        if (!IfMatch(http, db, row))
        {
            return Problems.PreconditionFailed();
        }
        var now = DateTimeOffset.UtcNow;
        if (row is null)
        {
            // A built-in type changed for the first time: its row holds only what differs.
            row = new StoredNodeType { Id = Guid.NewGuid(), Name = name, CreatedAt = now };
            db.NodeTypes.Add(row);
        }
        row.Definition = request.Definition ?? row.Definition;
        if (request.Retired is { } retire && retire != row.Retired)
        {
            row.Retired = retire;
            row.RetiredAt = retire ? now : null;
            audit.Record(retire ? "node-type.retired" : "node-type.reinstated", "node-type", name);
        }
        if (request.Definition is not null)
        {
            audit.Record(AuditActions.Updated, "node-type", name);
        }
        row.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        http.Response.Headers.ETag = ETags.For(row.Version);
        return TypedResults.Ok(ToDto(NodeTypeStore.ToNodeType(row)!, row, await runners.LoadAsync(ct)));
    }

    /// <summary>The type by name or alias in the effective catalog, and its row when an admin stored one.</summary>
    private static async Task<(NodeType? Type, StoredNodeType? Row)> FindAsync(LtbDbContext db, string name, CancellationToken ct)
    {
        var rows = await db.NodeTypes.ToListAsync(ct);
        var type = NodeTypeStore.Effective(rows).Find(name);
        return (type, type is null ? null : rows.FirstOrDefault(r => r.Name == type.Name));
    }

    /// <summary>ETags as everywhere (<see cref="ETags"/>); a type never changed has no row and version 0.</summary>
    private static bool IfMatch(HttpContext http, LtbDbContext db, StoredNodeType? row)
    {
        if (row is not null)
        {
            return ETags.Check(http, db, row);
        }
        var header = http.Request.Headers.IfMatch;
        return header.Count == 0 || (EntityTagHeaderValue.TryParseList(header, out var tags)
            && tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || (!t.IsWeak && t.Tag == ETags.For(0))));
    }

    private static NodeTypeDto ToDto(NodeType t, StoredNodeType? row, Func<NodeType, IReadOnlyList<NodeTypeHostDto>> hosts)
    {
        var builtIn = NodeTypeCatalog.BuiltIn.Find(t.Name) is { } b && b.Name == t.Name;
        var origin = !builtIn ? "custom" : row?.Definition is null ? "built-in" : "changed";
        var definition = row?.Definition ?? (builtIn ? NodeTypeCatalog.BuiltInDefinition(NodeTypeCatalog.BuiltIn.Find(t.Name)!) : null);
        return new NodeTypeDto(t.Name, origin, t.Aliases, t.Description, t.Vendor, t.Os, t.Runtime.ToString().ToLowerInvariant(), t.Image,
            t.Versions, t.Tags, t.Retired, row?.RetiredAt, definition, row?.Version ?? 0, hosts(t));
    }
}
