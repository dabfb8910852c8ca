using Ltb.Contracts;

namespace Ltb.Client;

// One method per operation of the API, named after its operationId (GET /openapi/v1.json), grouped by resource. A new
// operation: its endpoint (src/Ltb.Server/Api), its records (Ltb.Contracts), its method here.
public sealed partial class LtbApiClient
{
    private const string Api = ApiConventions.Prefix;

    private static string Segment(string value) => Uri.EscapeDataString(value);

    private static string Paging(int page, int pageSize) => $"page={page}&pageSize={pageSize}";

    // Authentication

    public Task<LoginResponse> SignInAsync(string userName, string password, CancellationToken ct) =>
        SendAsync<LoginResponse>(HttpMethod.Post, $"{Api}/auth/login", new LoginRequest(userName, password), ct);

    public Task SignOutAsync(CancellationToken ct) => SendWithoutAnswerAsync(HttpMethod.Post, $"{Api}/auth/logout", null, ct);

    public Task<UserDto> GetMeAsync(CancellationToken ct) => GetAsync<UserDto>($"{Api}/me", ct);

    public Task ChangeMyPasswordAsync(string currentPassword, string newPassword, CancellationToken ct) =>
        SendWithoutAnswerAsync(HttpMethod.Post, $"{Api}/me/password", new ChangePasswordRequest(currentPassword, newPassword), ct);

    // Labs and their tasks

    public Task<Paged<LabDto>> ListLabsAsync(CancellationToken ct, int page = 1, int pageSize = 200) =>
        GetAsync<Paged<LabDto>>($"{Api}/labs?{Paging(page, pageSize)}", ct);

    /// <summary>A lab by name or id.</summary>
    public Task<LabDto> GetLabAsync(string lab, CancellationToken ct) => GetAsync<LabDto>($"{Api}/labs/{Segment(lab)}", ct);

    /// <summary>How to reach the lab's nodes: addresses, ports, credentials, an ssh-config snippet and an Ansible inventory.</summary>
    public Task<LabAccessDto> GetLabAccessAsync(string lab, CancellationToken ct) =>
        GetAsync<LabAccessDto>($"{Api}/labs/{Segment(lab)}/access", ct);

    /// <summary>A node's device information; the running configuration too with <paramref name="config"/>.</summary>
    public Task<NodeInfoDto> GetNodeInfoAsync(string lab, string node, bool config, CancellationToken ct) =>
        GetAsync<NodeInfoDto>($"{Api}/labs/{Segment(lab)}/nodes/{Segment(node)}/info{(config ? "?config=true" : "")}", ct);

    /// <summary>A lab's live resource use per node and its sums.</summary>
    public Task<LabUsageDto> GetLabUsageAsync(string lab, CancellationToken ct) =>
        GetAsync<LabUsageDto>($"{Api}/labs/{Segment(lab)}/usage", ct);

    /// <summary>A host's live resource use, its labs' sums and free capacity (administrators).</summary>
    public Task<HostUsageDto> GetHostUsageAsync(Guid host, CancellationToken ct) => GetAsync<HostUsageDto>($"{Api}/hosts/{host}/usage", ct);

    /// <summary>A lab's (or one node's) usage history: a point per step from <paramref name="from"/> to <paramref name="to"/> (default: the last hour).</summary>
    public Task<UsageHistoryDto> GetLabUsageHistoryAsync(string lab, UsageWindow window, CancellationToken ct, string? node = null) =>
        GetAsync<UsageHistoryDto>($"{Api}/labs/{Segment(lab)}/usage/history?{window.Query()}{(node is null ? "" : $"&node={Segment(node)}")}", ct);

    /// <summary>A host's usage history: the machine and the sum of its nodes (administrators).</summary>
    public Task<HostUsageHistoryDto> GetHostUsageHistoryAsync(Guid host, UsageWindow window, CancellationToken ct) =>
        GetAsync<HostUsageHistoryDto>($"{Api}/hosts/{host}/usage/history?{window.Query()}", ct);

    /// <summary>Live usage summed per user, group, lab or host, of what the caller may see.</summary>
    public Task<UsageSumsDto> GetUsageSumsAsync(string by, CancellationToken ct) => GetAsync<UsageSumsDto>($"{Api}/usage?by={Segment(by)}", ct);

    /// <summary>The usage history of what the caller may see, optionally of one user, group, lab or host.</summary>
    public Task<UsageHistoryDto> GetUsageHistoryAsync(UsageWindow window, CancellationToken ct, Guid? user = null, Guid? group = null,
        Guid? lab = null, Guid? host = null) =>
        GetAsync<UsageHistoryDto>($"{Api}/usage/history?{window.Query()}{Id("user", user)}{Id("group", group)}{Id("lab", lab)}{Id("host", host)}", ct);

    /// <summary>Accounting: node-hours, CPU-hours and memory-GiB-hours per user, group, lab or host over a period.</summary>
    public Task<UsageReportDto> GetUsageReportAsync(string by, UsageWindow window, CancellationToken ct) =>
        GetAsync<UsageReportDto>($"{Api}/usage/report?by={Segment(by)}&{window.Query()}", ct);

    private static string Id(string name, Guid? id) => id is { } v ? $"&{name}={v}" : "";

    /// <summary>Deploys a topology: <paramref name="content"/> is the multipart form of docs/api.md "Deploy".</summary>
    public Task<LabTaskAccepted> DeployLabAsync(HttpContent content, CancellationToken ct) =>
        PostContentAsync<LabTaskAccepted>($"{Api}/labs", content, ct);

    public Task<LabTaskAccepted> DestroyLabAsync(string lab, CancellationToken ct) =>
        SendAsync<LabTaskAccepted>(HttpMethod.Delete, $"{Api}/labs/{Segment(lab)}", null, ct);

    public Task<Paged<LabTaskDto>> ListLabTasksAsync(string lab, CancellationToken ct, int page = 1, int pageSize = 50) =>
        GetAsync<Paged<LabTaskDto>>($"{Api}/labs/{Segment(lab)}/tasks?{Paging(page, pageSize)}", ct);

    public Task<LabTaskDto> GetTaskAsync(Guid id, CancellationToken ct) => GetAsync<LabTaskDto>($"{Api}/tasks/{id}", ct);

    public Task<ExecResponse> ExecInNodeAsync(string lab, ExecRequest request, CancellationToken ct) =>
        PostAsync<ExecResponse>($"{Api}/labs/{Segment(lab)}/exec", request, ct);

    /// <summary><paramref name="action"/>: stop, start or restart.</summary>
    public Task<LabNodeDto> ControlNodeAsync(string lab, string node, string action, CancellationToken ct) =>
        SendAsync<LabNodeDto>(HttpMethod.Post, $"{Api}/labs/{Segment(lab)}/nodes/{Segment(node)}/{Segment(action)}", null, ct);

    /// <summary><paramref name="state"/>: down or up.</summary>
    public Task SetLinkStateAsync(string lab, string node, string iface, string state, CancellationToken ct) =>
        SendWithoutAnswerAsync(HttpMethod.Post, $"{Api}/labs/{Segment(lab)}/links/{Segment(node)}/{Segment(iface)}/{Segment(state)}", null, ct);

    /// <summary>A node's logs, copied to <paramref name="output"/> as they come (<paramref name="query"/>: tail=N, follow=true).</summary>
    public Task GetNodeLogsAsync(string lab, string node, string query, TextWriter output, CancellationToken ct, TextWriter? notes = null) =>
        StreamTextAsync($"{Api}/labs/{Segment(lab)}/nodes/{Segment(node)}/logs?{query}", output, ct, notes);

    /// <summary>
    /// A live capture of the lab's interfaces: the answer (pcapng, <see cref="CaptureLimits.MediaType"/>) once its headers
    /// came; the caller reads the body as it arrives (<see cref="PcapngReader"/>) and disposes it, which ends the capture.
    /// </summary>
    public Task<HttpResponseMessage> OpenCaptureAsync(string lab, CaptureQuery query, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, $"{Api}/labs/{Segment(lab)}/capture?{query.ToQueryString()}", null, ct, HttpCompletionOption.ResponseHeadersRead);

    /// <summary>The lab's mirror interfaces as its host sees them.</summary>
    public Task<IReadOnlyList<LabMirrorDto>> ListMirrorsAsync(string lab, CancellationToken ct) =>
        GetAsync<IReadOnlyList<LabMirrorDto>>($"{Api}/labs/{Segment(lab)}/mirrors", ct);

    /// <summary>Queues the creation of a mirror interface on a link end (202: the mirror task).</summary>
    public Task<LabTaskAccepted> CreateMirrorAsync(string lab, CreateMirrorRequest request, CancellationToken ct) =>
        PostAsync<LabTaskAccepted>($"{Api}/labs/{Segment(lab)}/mirrors", request, ct);

    /// <summary>Queues the removal of a mirror interface (202: the mirror task).</summary>
    public Task<LabTaskAccepted> RemoveMirrorAsync(string lab, string name, CancellationToken ct) =>
        SendAsync<LabTaskAccepted>(HttpMethod.Delete, $"{Api}/labs/{Segment(lab)}/mirrors/{Segment(name)}", null, ct);

    /// <summary>Starts a capture decoded on the server (tshark) for a packet list.</summary>
    public Task<DecodedCaptureDto> OpenDecodedCaptureAsync(string lab, DecodedCaptureRequest request, CancellationToken ct) =>
        PostAsync<DecodedCaptureDto>($"{Api}/labs/{Segment(lab)}/captures", request, ct);

    /// <summary>Decoded packets after frame <paramref name="after"/>, waiting up to <paramref name="waitSeconds"/> for new ones.</summary>
    public Task<DecodedPacketsDto> ListDecodedPacketsAsync(string lab, Guid capture, int after, int waitSeconds, CancellationToken ct) =>
        GetAsync<DecodedPacketsDto>($"{Api}/labs/{Segment(lab)}/captures/{capture}/packets?after={after}&wait={waitSeconds}", ct);

    public Task<PacketTreeDto> GetPacketTreeAsync(string lab, Guid capture, int number, CancellationToken ct) =>
        GetAsync<PacketTreeDto>($"{Api}/labs/{Segment(lab)}/captures/{capture}/packets/{number}", ct);

    public Task CloseDecodedCaptureAsync(string lab, Guid capture, CancellationToken ct) =>
        SendWithoutAnswerAsync(HttpMethod.Delete, $"{Api}/labs/{Segment(lab)}/captures/{capture}", null, ct);

    /// <summary>What a decoded capture captured so far, as pcapng (the caller reads the body and disposes the answer).</summary>
    public Task<HttpResponseMessage> DownloadDecodedCaptureAsync(string lab, Guid capture, CancellationToken ct) =>
        SendAsync(HttpMethod.Get, $"{Api}/labs/{Segment(lab)}/captures/{capture}/pcapng", null, ct, HttpCompletionOption.ResponseHeadersRead);

    /// <summary>The lab's live events (Server-Sent Events); null <paramref name="lab"/>: every lab the caller may see.</summary>
    public Task<HttpResponseMessage> StreamLabEventsAsync(string? lab, string? lastEventId, CancellationToken ct) =>
        OpenEventStreamAsync(lab is null ? $"{Api}/events" : $"{Api}/labs/{Segment(lab)}/events", lastEventId, ct);

    /// <summary>An interactive exec session (framing: <see cref="ExecSocketFrames"/>); <paramref name="query"/> holds the
    /// command and terminal options of docs/api.md "Interactive exec".</summary>
    public Task<System.Net.WebSockets.ClientWebSocket> OpenExecSocketAsync(string lab, string node, string query, CancellationToken ct) =>
        ConnectSocketAsync($"{Api}/labs/{Segment(lab)}/nodes/{Segment(node)}/exec/ws?{query}", ct);

    /// <summary>
    /// The node's console (docs/api.md "Consoles"), with the client's token instead of a ticket: a new session, or
    /// <paramref name="session"/> reattached; <paramref name="size"/> is the terminal's; <paramref name="target"/> (shell,
    /// serial, ssh, telnet; a new session only) instead of the node type's console.
    /// </summary>
    public Task<System.Net.WebSockets.ClientWebSocket> OpenConsoleSocketAsync(string lab, string node, Guid? session,
        (int Rows, int Columns)? size, CancellationToken ct, string? target = null) =>
        ConnectSocketAsync($"{Api}/labs/{Segment(lab)}/nodes/{Segment(node)}/console/ws?mode=interactive"
            + (session is { } id ? $"&session={id}" : "") + (size is { } s ? $"&rows={s.Rows}&cols={s.Columns}" : "")
            + (target is null ? "" : $"&target={Uri.EscapeDataString(target)}"), ct);

    /// <summary>A VM node's graphical display (docs/api.md "VNC display"): the raw RFB stream in binary messages.</summary>
    public Task<System.Net.WebSockets.ClientWebSocket> OpenDisplaySocketAsync(string lab, string node, CancellationToken ct) =>
        ConnectSocketAsync($"{Api}/labs/{Segment(lab)}/nodes/{Segment(node)}/vnc/ws", ct);

    // VM images (the controller's library)

    public Task<Paged<VmImageDto>> ListVmImagesAsync(string? nodeType, CancellationToken ct, int page = 1, int pageSize = 200) =>
        GetAsync<Paged<VmImageDto>>($"{Api}/vm-images?{Paging(page, pageSize)}{(nodeType is null ? "" : "&nodeType=" + Uri.EscapeDataString(nodeType))}", ct);

    public Task<VmImageDto> GetVmImageAsync(Guid id, CancellationToken ct) => GetAsync<VmImageDto>($"{Api}/vm-images/{id}", ct);

    /// <summary>Streams a disk to the controller's library (admin); the server checks it against <paramref name="sha256"/>.</summary>
    public Task<VmImageDto> UploadVmImageAsync(string name, string version, string nodeType, string? format, string sha256, Stream disk,
        CancellationToken ct)
    {
        var query = $"name={Uri.EscapeDataString(name)}&version={Uri.EscapeDataString(version)}&nodeType={Uri.EscapeDataString(nodeType)}" +
                    $"&sha256={Uri.EscapeDataString(sha256)}{(format is null ? "" : "&format=" + Uri.EscapeDataString(format))}";
        var content = new StreamContent(disk, 1 << 20);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        return PostContentAsync<VmImageDto>($"{Api}/vm-images?{query}", content, ct);
    }

    public Task<VmImageDto> ImportVmImageAsync(ImportVmImageRequest request, CancellationToken ct) =>
        PostAsync<VmImageDto>($"{Api}/vm-images/import", request, ct);

    public Task DeleteVmImageAsync(Guid id, CancellationToken ct) => DeleteAsync($"{Api}/vm-images/{id}", ct);

    // Snapshots

    /// <summary>Queues a snapshot of a running lab (202: the snapshot, creating, and its task).</summary>
    public Task<SnapshotAccepted> CreateSnapshotAsync(string lab, CreateSnapshotRequest request, CancellationToken ct) =>
        PostAsync<SnapshotAccepted>($"{Api}/labs/{Segment(lab)}/snapshots", request, ct);

    /// <summary>The snapshots of a lab the caller may read.</summary>
    public Task<Paged<SnapshotDto>> ListLabSnapshotsAsync(string lab, CancellationToken ct, int page = 1, int pageSize = 200) =>
        GetAsync<Paged<SnapshotDto>>($"{Api}/labs/{Segment(lab)}/snapshots?{Paging(page, pageSize)}", ct);

    /// <summary>Every snapshot the caller may read (theirs, their groups' labs', all for admins).</summary>
    public Task<Paged<SnapshotDto>> ListSnapshotsAsync(CancellationToken ct, int page = 1, int pageSize = 200) =>
        GetAsync<Paged<SnapshotDto>>($"{Api}/snapshots?{Paging(page, pageSize)}", ct);

    /// <summary>What the caller's snapshots take, and their quota.</summary>
    public Task<SnapshotQuotaDto> GetSnapshotQuotaAsync(CancellationToken ct) => GetAsync<SnapshotQuotaDto>($"{Api}/snapshots/usage", ct);

    public Task<SnapshotDto> GetSnapshotAsync(Guid id, CancellationToken ct) => GetAsync<SnapshotDto>($"{Api}/snapshots/{id}", ct);

    public Task DeleteSnapshotAsync(Guid id, CancellationToken ct) => DeleteAsync($"{Api}/snapshots/{id}", ct);

    /// <summary>Writes a snapshot's archive (docs/snapshot-format.md) to <paramref name="output"/> as it comes.</summary>
    public Task ExportSnapshotAsync(Guid id, Stream output, CancellationToken ct) => DownloadAsync($"{Api}/snapshots/{id}/export", output, ct);

    /// <summary>Streams a snapshot archive to the server, which makes it a snapshot of the caller's (optionally renamed).</summary>
    public Task<SnapshotDto> ImportSnapshotAsync(Stream archive, string? name, CancellationToken ct)
    {
        var content = new StreamContent(archive, 1 << 20);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-tar");
        return PostContentAsync<SnapshotDto>($"{Api}/snapshots/import{(name is null ? "" : "?name=" + Uri.EscapeDataString(name))}", content, ct);
    }

    /// <summary>
    /// Deploys a lab from a snapshot (POST /labs with <c>snapshot</c>): a new lab named <paramref name="name"/> (default: the
    /// snapshot's topology's), or with <paramref name="reset"/> the running lab of that name replaced by it.
    /// </summary>
    public Task<LabTaskAccepted> RestoreSnapshotAsync(Guid id, string? name, bool reset, CancellationToken ct, string? host = null)
    {
        var form = new MultipartFormDataContent { { new StringContent(id.ToString()), "snapshot" } };
        if (name is not null)
        {
            form.Add(new StringContent(name), "name");
        }
        if (reset)
        {
            form.Add(new StringContent("true"), "reset");
        }
        if (host is not null)
        {
            form.Add(new StringContent(host), "host");
        }
        return DeployLabAsync(form, ct);
    }
    /// <summary>A single-use ticket (30 s) for the node's console WebSocket, for a browser: it opens the ticket's URL.</summary>
    public Task<ConsoleTicketResponse> CreateConsoleTicketAsync(string lab, string node, ConsoleTicketRequest request, CancellationToken ct) =>
        PostAsync<ConsoleTicketResponse>($"{Api}/labs/{Segment(lab)}/nodes/{Segment(node)}/console/tickets", request, ct);

    /// <summary>A single-use ticket with which a browser makes one bulk transfer itself (an upload, an export) as this client's session.</summary>
    public Task<TransferTicketResponse> CreateTransferTicketAsync(string method, string path, CancellationToken ct) =>
        PostAsync<TransferTicketResponse>($"{Api}/auth/transfer-tickets", new TransferTicketRequest(method, path), ct);

    /// <summary>A single-use ticket for a VM node's display WebSocket (raw RFB), for a browser's noVNC.</summary>
    public Task<ConsoleTicketResponse> CreateDisplayTicketAsync(string lab, string node, CancellationToken ct) =>
        PostAsync<ConsoleTicketResponse>($"{Api}/labs/{Segment(lab)}/nodes/{Segment(node)}/vnc/tickets", new { }, ct);

    // Templates

    /// <summary>Validates a topology's YAML with the caller's rights (nothing is stored): the diagnostics at line and column.</summary>
    public Task<TopologyValidationDto> ValidateTopologyAsync(ValidateTopologyRequest request, CancellationToken ct) =>
        PostAsync<TopologyValidationDto>($"{Api}/topologies/validate", request, ct);

    /// <summary><paramref name="filter"/>: extra query parameters (name=, q=, tag=...), already escaped, or empty.</summary>
    public Task<Paged<TemplateDto>> ListTemplatesAsync(string filter, CancellationToken ct, int page = 1, int pageSize = 200) =>
        GetAsync<Paged<TemplateDto>>($"{Api}/templates?{Paging(page, pageSize)}{(filter.Length > 0 ? "&" + filter : "")}", ct);

    public Task<TemplateDto> GetTemplateAsync(Guid id, CancellationToken ct) => GetAsync<TemplateDto>($"{Api}/templates/{id}", ct);

    /// <summary>A topology and its files as the multipart form of docs/api.md "Templates".</summary>
    public Task<TemplateDto> CreateTemplateAsync(HttpContent content, CancellationToken ct) =>
        PostContentAsync<TemplateDto>($"{Api}/templates", content, ct);

    public Task<TemplateVersionDto> AddTemplateVersionAsync(Guid id, HttpContent content, CancellationToken ct) =>
        PostContentAsync<TemplateVersionDto>($"{Api}/templates/{id}/versions", content, ct);

    public Task<TemplateDto> UpdateTemplateAsync(Guid id, UpdateTemplateRequest request, CancellationToken ct) =>
        SendAsync<TemplateDto>(HttpMethod.Patch, $"{Api}/templates/{id}", request, ct);

    public Task DeleteTemplateAsync(Guid id, CancellationToken ct) => DeleteAsync($"{Api}/templates/{id}", ct);

    /// <summary>The topology of a version byte for byte, as uploaded.</summary>
    public Task<byte[]> GetTemplateVersionSourceAsync(Guid id, int version, CancellationToken ct) =>
        GetBytesAsync($"{Api}/templates/{id}/versions/{version}/source", ct);

    // Users, groups, tokens

    public Task<Paged<UserDto>> ListUsersAsync(CancellationToken ct, int page = 1, int pageSize = 200) =>
        GetAsync<Paged<UserDto>>($"{Api}/users?{Paging(page, pageSize)}", ct);

    public Task<UserDto> CreateUserAsync(CreateUserRequest request, CancellationToken ct) =>
        PostAsync<UserDto>($"{Api}/users", request, ct);

    public Task<UserDto> GetUserAsync(Guid id, CancellationToken ct) => GetAsync<UserDto>($"{Api}/users/{id}", ct);

    public Task DeleteUserAsync(Guid id, CancellationToken ct) => DeleteAsync($"{Api}/users/{id}", ct);

    /// <summary>Only the fields given change (roles replace the user's roles; locked locks or unlocks).</summary>
    public Task<UserDto> UpdateUserAsync(Guid id, UpdateUserRequest request, CancellationToken ct) =>
        SendAsync<UserDto>(HttpMethod.Patch, $"{Api}/users/{id}", request, ct);

    /// <summary><paramref name="query"/>: part of the name, or empty for all.</summary>
    public Task<Paged<GroupDto>> ListGroupsAsync(string query, CancellationToken ct, int page = 1, int pageSize = 200) =>
        GetAsync<Paged<GroupDto>>($"{Api}/groups?q={Segment(query)}&{Paging(page, pageSize)}", ct);

    public Task<GroupDto> CreateGroupAsync(CreateGroupRequest request, CancellationToken ct) =>
        PostAsync<GroupDto>($"{Api}/groups", request, ct);

    public Task<GroupDto> GetGroupAsync(Guid id, CancellationToken ct) => GetAsync<GroupDto>($"{Api}/groups/{id}", ct);

    /// <summary><paramref name="user"/>: an id or a user name.</summary>
    public Task AddGroupMemberAsync(Guid group, string user, CancellationToken ct) =>
        SendWithoutAnswerAsync(HttpMethod.Put, $"{Api}/groups/{group}/members/{Segment(user)}", null, ct);

    public Task<Paged<MemberDto>> ListGroupMembersAsync(Guid group, CancellationToken ct, int page = 1, int pageSize = 200) =>
        GetAsync<Paged<MemberDto>>($"{Api}/groups/{group}/members?{Paging(page, pageSize)}", ct);

    public Task<CreatedTokenDto> CreateTokenAsync(CreateTokenRequest request, CancellationToken ct) =>
        PostAsync<CreatedTokenDto>($"{Api}/tokens", request, ct);

    /// <summary>One's live API tokens (their secrets are never shown again).</summary>
    public Task<Paged<TokenDto>> ListTokensAsync(CancellationToken ct, int page = 1, int pageSize = 200) =>
        GetAsync<Paged<TokenDto>>($"{Api}/tokens?{Paging(page, pageSize)}", ct);

    public Task RevokeTokenAsync(Guid id, CancellationToken ct) => DeleteAsync($"{Api}/tokens/{id}", ct);

    /// <summary>One's SSH public keys.</summary>
    public Task<Paged<SshKeyDto>> ListSshKeysAsync(CancellationToken ct, int page = 1, int pageSize = 200) =>
        GetAsync<Paged<SshKeyDto>>($"{Api}/ssh-keys?{Paging(page, pageSize)}", ct);

    public Task RemoveSshKeyAsync(Guid id, CancellationToken ct) => DeleteAsync($"{Api}/ssh-keys/{id}", ct);

    /// <summary>Registers one's SSH public key (the SSH gateway's login).</summary>
    public Task<SshKeyDto> AddSshKeyAsync(AddSshKeyRequest request, CancellationToken ct) =>
        PostAsync<SshKeyDto>($"{Api}/ssh-keys", request, ct);

    // Hosts and the catalog

    public Task<Paged<HostDto>> ListHostsAsync(CancellationToken ct, int page = 1, int pageSize = 200) =>
        GetAsync<Paged<HostDto>>($"{Api}/hosts?{Paging(page, pageSize)}", ct);

    public Task<HostDto> GetHostAsync(Guid id, CancellationToken ct) => GetAsync<HostDto>($"{Api}/hosts/{id}", ct);

    public Task<Paged<NodeTypeDto>> ListNodeTypesAsync(CancellationToken ct, int page = 1, int pageSize = 200) =>
        GetAsync<Paged<NodeTypeDto>>($"{Api}/node-types?{Paging(page, pageSize)}", ct);

    // Reservations and the iCalendar feed

    /// <summary><paramref name="scope"/>: "" (one's own and one's groups'), mine, groups, all (admins).</summary>
    public Task<Paged<ReservationDto>> ListReservationsAsync(string scope, CancellationToken ct, int page = 1, int pageSize = 200) =>
        GetAsync<Paged<ReservationDto>>($"{Api}/reservations?{Paging(page, pageSize)}{(scope.Length > 0 ? "&scope=" + Segment(scope) : "")}", ct);

    public Task<ReservationDto> GetReservationAsync(Guid id, CancellationToken ct) => GetAsync<ReservationDto>($"{Api}/reservations/{id}", ct);

    /// <summary>Books a reservation; <paramref name="dryRun"/>: only asks whether it fits (the plan it would get, or the refusal).</summary>
    public Task<ReservationDto> CreateReservationAsync(CreateReservationRequest request, CancellationToken ct, bool dryRun = false) =>
        SendAsync<ReservationDto>(HttpMethod.Post, $"{Api}/reservations{(dryRun ? "?dryRun=true" : "")}", request, ct);

    public Task<ReservationDto> UpdateReservationAsync(Guid id, UpdateReservationRequest request, CancellationToken ct, bool dryRun = false) =>
        SendAsync<ReservationDto>(HttpMethod.Patch, $"{Api}/reservations/{id}{(dryRun ? "?dryRun=true" : "")}", request, ct);

    public Task<ReservationDto> ExtendReservationAsync(Guid id, ExtendReservationRequest request, CancellationToken ct) =>
        SendAsync<ReservationDto>(HttpMethod.Post, $"{Api}/reservations/{id}/extend", request, ct);

    public Task<ReservationDto> CancelReservationAsync(Guid id, CancellationToken ct) =>
        SendAsync<ReservationDto>(HttpMethod.Delete, $"{Api}/reservations/{id}", null, ct);

    public Task<CalendarFeedDto> CreateCalendarFeedAsync(CancellationToken ct) =>
        SendAsync<CalendarFeedDto>(HttpMethod.Post, $"{Api}/me/calendar", null, ct);

    public Task RevokeCalendarFeedAsync(CancellationToken ct) => SendWithoutAnswerAsync(HttpMethod.Delete, $"{Api}/me/calendar", null, ct);

    /// <summary>The feed's text (the secret is the credential: no token is needed).</summary>
    public async Task<string> GetCalendarFeedAsync(string secret, CancellationToken ct) =>
        System.Text.Encoding.UTF8.GetString(await GetBytesAsync($"{Api}/calendar/{Segment(secret)}", ct));
}
