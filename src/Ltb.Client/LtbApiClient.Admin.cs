using System.Text.Json;
using Ltb.Contracts;

namespace Ltb.Client;

// The administration operations the web UI's admin pages need beyond LtbApiClient.Resources.cs (same rule: one method per
// operationId, named after it). Kept apart so the admin pages and the user pages grow the client without colliding.
public sealed partial class LtbApiClient
{
    /// <summary>Sets a user's password (admin); the user's sessions and tokens are revoked by the server.</summary>
    public Task ResetUserPasswordAsync(Guid id, ResetPasswordRequest request, CancellationToken ct) =>
        SendWithoutAnswerAsync(HttpMethod.Post, $"{Api}/users/{id}/password", request, ct);

    public Task<GroupDto> UpdateGroupAsync(Guid id, UpdateGroupRequest request, CancellationToken ct) =>
        SendAsync<GroupDto>(HttpMethod.Patch, $"{Api}/groups/{id}", request, ct);

    public Task DeleteGroupAsync(Guid id, CancellationToken ct) => DeleteAsync($"{Api}/groups/{id}", ct);

    /// <summary><paramref name="user"/>: an id or a user name.</summary>
    public Task RemoveGroupMemberAsync(Guid group, string user, CancellationToken ct) =>
        DeleteAsync($"{Api}/groups/{group}/members/{Segment(user)}", ct);

    /// <summary>One node type by name or alias, with its YAML definition.</summary>
    public Task<NodeTypeDto> GetNodeTypeAsync(string name, CancellationToken ct) =>
        GetAsync<NodeTypeDto>($"{Api}/node-types/{Segment(name)}", ct);

    /// <summary>A 422's diagnostics (line, column) are in <see cref="LtbApiException.Diagnostics"/>.</summary>
    public Task<NodeTypeDto> CreateNodeTypeAsync(CreateNodeTypeRequest request, CancellationToken ct) =>
        PostAsync<NodeTypeDto>($"{Api}/node-types", request, ct);

    public Task<NodeTypeDto> UpdateNodeTypeAsync(string name, UpdateNodeTypeRequest request, CancellationToken ct) =>
        SendAsync<NodeTypeDto>(HttpMethod.Patch, $"{Api}/node-types/{Segment(name)}", request, ct);

    /// <summary>The audit log, newest first; <paramref name="filter"/>: query parameters (action=..., objectType=...) or empty.</summary>
    public Task<Paged<AuditEntryDto>> ListAuditEntriesAsync(string filter, CancellationToken ct, int page = 1, int pageSize = 100) =>
        GetAsync<Paged<AuditEntryDto>>($"{Api}/audit?{Paging(page, pageSize)}{(filter.Length > 0 ? "&" + filter : "")}", ct);

    /// <summary>
    /// The tenant policy document (JSON; its schema is the server's <c>ltb serve --policy</c> file, which lives with the
    /// topology model, so the client keeps it as a document rather than a second copy of the record).
    /// </summary>
    public Task<JsonElement> GetPolicyAsync(CancellationToken ct) => GetAsync<JsonElement>($"{Api}/policy", ct);

    /// <summary>Replaces the tenant policy; keys left out take their defaults. A document the server refuses is a 400 naming the key.</summary>
    public Task<JsonElement> ReplacePolicyAsync(JsonElement policy, CancellationToken ct) =>
        SendAsync<JsonElement>(HttpMethod.Put, $"{Api}/policy", policy, ct);
}
