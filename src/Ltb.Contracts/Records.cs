namespace Ltb.Contracts;

// The API's request and response bodies (JSON, camelCase), as the server writes them and Ltb.Client reads them.

public sealed record LoginRequest(string UserName, string Password);

public sealed record LoginResponse(string Token, DateTimeOffset ExpiresAt, UserDto User);

public sealed record UserDto(Guid Id, string UserName, string DisplayName, string? Email, IReadOnlyList<string> Roles,
    bool Locked, DateTimeOffset CreatedAt, long Version);

public sealed record CreateUserRequest(string UserName, string Password, string? DisplayName = null, string? Email = null,
    IReadOnlyList<string>? Roles = null);

/// <summary>Only the fields given change. <c>Roles</c> replaces the user's roles.</summary>
public sealed record UpdateUserRequest(string? DisplayName = null, string? Email = null, IReadOnlyList<string>? Roles = null,
    bool? Locked = null);

public sealed record ResetPasswordRequest(string NewPassword);

public sealed record ChangePasswordRequest(string CurrentPassword, string NewPassword);

public sealed record GroupDto(Guid Id, string Name, string Description, int MemberCount, DateTimeOffset CreatedAt, long Version);

public sealed record CreateGroupRequest(string Name, string? Description = null);

public sealed record UpdateGroupRequest(string? Name = null, string? Description = null);

public sealed record MemberDto(Guid UserId, string UserName, string DisplayName, DateTimeOffset AddedAt);

public sealed record TokenDto(Guid Id, Guid UserId, string Name, string Kind, string Prefix, DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt);

/// <summary><c>ExpiresInDays</c>: 1 to 365; absent: the token does not expire.</summary>
public sealed record CreateTokenRequest(string Name, int? ExpiresInDays = null);

/// <summary>The only response that holds the token's secret.</summary>
public sealed record CreatedTokenDto(TokenDto Token, string Secret);

public sealed record SshKeyDto(Guid Id, Guid UserId, string Name, string Algorithm, string Fingerprint, string PublicKey,
    DateTimeOffset CreatedAt);

/// <summary><c>PublicKey</c>: one line of an OpenSSH public key file ("ssh-ed25519 AAAA... comment").</summary>
public sealed record AddSshKeyRequest(string PublicKey, string? Name = null);

/// <summary>
/// <c>Cpus</c>/<c>MemoryBytes</c>, disk, KVM, images, kinds and the last heartbeat are what the host's agent reported.
/// <c>CpusOverride</c>/<c>MemoryBytesOverride</c>: an admin's limits for placement (null: none); <c>Capacity</c>: what
/// placement uses (override, else reported times the overcommit); <c>Allocated</c>: what the labs on the host demand;
/// <c>Labs</c>: how many. <c>CpuOvercommit</c>/<c>MemoryOvercommit</c>: what placement counts node limits against, per
/// reported CPU and byte (the admin's, else the defaults). <c>Address</c> (where the controller reaches the host's agent)
/// is null for everyone but administrators.
/// </summary>
public sealed record HostDto(Guid Id, string Name, string? Address, bool IsLocal, int Cpus, long MemoryBytes,
    IReadOnlyDictionary<string, string> Labels, string State, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, long Version,
    long DiskBytes = 0, bool Kvm = false, IReadOnlyList<string>? Images = null, IReadOnlyList<string>? Kinds = null,
    DateTimeOffset? LastSeenAt = null, string? AgentVersion = null, int? CpusOverride = null, long? MemoryBytesOverride = null,
    HostResourcesDto? Capacity = null, HostResourcesDto? Allocated = null, int Labs = 0, double? CpuOvercommit = null,
    double? MemoryOvercommit = null, HostIsolationDto? Isolation = null);

/// <summary>
/// How the host's engine walls its containers off, as last reported (null fields: not reported). <c>Warning</c> says
/// what it means when root in a node is root on the host (no user-namespace remapping).
/// </summary>
public sealed record HostIsolationDto(bool? UserNamespaces, bool? Seccomp, bool? AppArmor, string? Warning);

/// <summary>CPUs (fractions: node demands are often a quarter CPU) and memory in bytes.</summary>
public sealed record HostResourcesDto(double Cpus, long MemoryBytes);

/// <summary>A token `ltb agent --token` registers a host with. <c>HostId</c>: the host it registered, once it has.</summary>
public sealed record HostTokenDto(Guid Id, string Name, string Prefix, Guid? HostId, DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

public sealed record CreateHostTokenRequest(string Name);

/// <summary>The token and, this once, its secret.</summary>
public sealed record CreatedHostTokenDto(HostTokenDto Token, string Secret);

public sealed record CreateHostRequest(string Name, string Address, int Cpus, long MemoryBytes,
    Dictionary<string, string>? Labels = null);

/// <summary>Only the fields given change. <c>State</c>: ready, draining or disabled. <c>Cpus</c>/<c>MemoryBytes</c> set the
/// admin's capacity overrides for placement (the agent's heartbeats keep reporting the measured figures beside them);
/// <c>ResetCapacity</c>: true drops both overrides (placement uses the reported figures again).
/// <c>CpuOvercommit</c>/<c>MemoryOvercommit</c>: how many times the reported figures placement counts node limits
/// against (1-1000; ResetCapacity drops them too).</summary>
public sealed record UpdateHostRequest(string? Address = null, int? Cpus = null, long? MemoryBytes = null,
    Dictionary<string, string>? Labels = null, string? State = null, bool? ResetCapacity = null, double? CpuOvercommit = null,
    double? MemoryOvercommit = null);

public sealed record AuditEntryDto(long Id, DateTimeOffset At, Guid? ActorId, string ActorName, string Action, string ObjectType,
    string? ObjectId, string? Detail, string? RemoteAddress);

// Labs (docs/api.md "Labs"). The status part (nodes, links) is also the stored snapshot of the lab.

/// <summary><c>ObservedAt</c>: when the host was inspected for this picture (null: never, or before LTB recorded it).</summary>
public sealed record LabSnapshot(IReadOnlyList<LabNodeDto> Nodes, IReadOnlyList<LabLinkDto> Links, DateTimeOffset? ObservedAt = null)
{
    public static LabSnapshot Empty { get; } = new([], []);

    /// <summary>The lab's mirror interfaces, listed with its links.</summary>
    public IReadOnlyList<LabMirrorDto> Mirrors { get; init; } = [];
}

/// <summary>
/// A mirror interface: <c>Name</c> receives a copy of both directions of the traffic of the link end
/// <c>Node:Interface</c> (capture it with <c>mirror=NAME</c>).
/// </summary>
public sealed record LabMirrorDto(string Name, string Node, string Interface);

/// <summary>A mirror interface to create on the link end Node:Interface; Name defaults to NODE-IFACE (or a short hash).</summary>
public sealed record CreateMirrorRequest(string Node, string Interface, string? Name = null);

public sealed record LabNodeDto(string Name, string Kind, string Image, string State, string? MgmtIpv4, string? MgmtIpv6,
    string? ContainerId, string? ContainerName, IReadOnlyList<LabInterfaceDto> Interfaces, string? Error,
    IReadOnlyList<LabPortDto>? Ports = null);

/// <summary>A published port of a node: connect to HostIp:HostPort (on the lab's host) to reach NodePort in the node.</summary>
public sealed record LabPortDto(string HostIp, int HostPort, int NodePort, string Protocol);

public sealed record LabInterfaceDto(string Name, string? Mac, string? Peer);

/// <summary>A link: both ends as "node:iface" (B is a host interface name for host links), its state (up, down, unknown),
/// its type and the key from which the host-side objects (veths, bridges) are named.</summary>
public sealed record LabLinkDto(string A, string? B, string State, string Type, string Key);

public sealed record LabEventDto(DateTimeOffset At, string Level, string? Node, string Message);

/// <summary><c>Host</c>/<c>HostState</c>: the host that owns the lab and its state (a lab on an unreachable host shows it);
/// <c>Hosts</c>: every host a lab that spans hosts uses, with its state; <c>PlacementReason</c>: why it was placed there.</summary>
public sealed record LabDto(Guid Id, string Name, string State, string Owner, Guid? GroupId, string RuntimeName,
    string SourceFileName, string? Error, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    IReadOnlyList<LabNodeDto> Nodes, IReadOnlyList<LabLinkDto> Links, IReadOnlyList<LabEventDto>? Events, long Version,
    DateTimeOffset? ObservedAt = null, LabTemplateRefDto? Template = null, string? Host = null, string? HostState = null,
    string? PlacementReason = null, IReadOnlyList<LabHostRefDto>? Hosts = null)
{
    /// <summary>The lab's mirror interfaces (POST /labs/{lab}/mirrors), listed with its links.</summary>
    public IReadOnlyList<LabMirrorDto> Mirrors { get; init; } = [];
}

/// <summary>The stored template (and its version) a lab was deployed from.</summary>
public sealed record LabTemplateRefDto(Guid Id, int Version);

/// <summary>A host a lab uses: its name, state and how many of the lab's nodes run there.</summary>
public sealed record LabHostRefDto(string Name, string State, int Nodes);

public sealed record LabTaskDto(Guid Id, Guid LabId, string Kind, string State, string? Progress, IReadOnlyList<string> Log,
    string? Error, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, int Attempts = 0);

/// <summary>The answer to a deploy or destroy: the lab and the task to follow (GET /api/v1/tasks/{id}).</summary>
public sealed record LabTaskAccepted(LabDto Lab, LabTaskDto Task);

/// <summary>
/// One live event of a lab, as a Server-Sent Event's data (GET /api/v1/labs/{lab}/events, GET /api/v1/events; docs/api.md
/// "Live events"). <c>Type</c>: <c>lab</c> (State: the lab's state), <c>task</c> (Task, Kind, State, Progress, Error, and the
/// task's new log lines from line number LogIndex), <c>log</c> (a line of the lab's event log: Id, Level, Node, Message),
/// <c>node</c> (Node, State). Fields that do not belong to the type are left out.
/// </summary>
public sealed record LabLiveEventDto(string Type, Guid Lab, string LabName, DateTimeOffset At)
{
    public string? State { get; init; }
    public Guid? Task { get; init; }
    public string? Kind { get; init; }
    public string? Progress { get; init; }
    public int? LogIndex { get; init; }
    public IReadOnlyList<string>? Log { get; init; }
    public string? Error { get; init; }
    public long? Id { get; init; }
    public string? Level { get; init; }
    public string? Node { get; init; }
    public string? Message { get; init; }
}

/// <summary>
/// How to reach a lab's nodes (GET /api/v1/labs/{lab}/access; docs/api.md "Access information"): per node, and for the
/// lab an <c>~/.ssh/config</c> snippet and an Ansible inventory (YAML) generated from the same facts.
/// </summary>
public sealed record LabAccessDto(Guid Lab, string Name, string State, IReadOnlyList<NodeAccessDto> Nodes, string SshConfig,
    string AnsibleInventory);

/// <summary>
/// One node's access: its management addresses, published ports (<c>HostIp</c> is the address to connect to: a port bound
/// on every address shows the lab host's address), the node type's default credentials (null: the type has none), the
/// topology groups it is in, and the type's <c>ansible_network_os</c>. <c>ConsoleUrl</c> is the node's console
/// WebSocket (opened with a ticket from <c>POST .../console/tickets</c>, or a bearer header); <c>SshCommand</c>
/// (through the SSH gateway) is null until the gateway exists. <c>AnsibleConnection</c>: the type's Ansible connection
/// plugin (network_cli for a network OS, ssh for a Linux host); <c>ConsoleTarget</c>: what the console opens by default
/// (shell, ssh, telnet, serial, none). <c>DisplayUrl</c>: a VM node's display WebSocket (null for a container; whether the
/// VM has a display the ticket request <c>POST .../vnc/tickets</c> answers, since a node label may give or take one).
/// </summary>
public sealed record NodeAccessDto(string Name, string Kind, string State, string? MgmtIpv4, string? MgmtIpv6,
    IReadOnlyList<LabPortDto> Ports, NodeCredentialsDto? Credentials, IReadOnlyList<string> Groups, string? AnsibleNetworkOs,
    string? ConsoleUrl = null, string? SshCommand = null, string? AnsibleConnection = null, string? ConsoleTarget = null,
    string? DisplayUrl = null);

/// <summary>A node type's default login, as the catalog gives it (the lab's own configuration may have changed it).</summary>
public sealed record NodeCredentialsDto(string Username, string Password);

public sealed record ExecRequest(string Node, IReadOnlyList<string> Command, int? TimeoutSeconds = null);

/// <summary>
/// A command's output and exit code. <paramref name="Truncated"/>: the output reached the server's limit per answer
/// (TenantPolicy.OutputLimitBytes, stdout and stderr together); the command was killed there, <paramref name="ExitCode"/>
/// is 137 and <paramref name="Note"/> says so, naming the limit.
/// </summary>
public sealed record ExecResponse(long ExitCode, string Stdout, string Stderr, bool Truncated = false, string? Note = null);

// Consoles (docs/api.md "Consoles").

/// <summary>
/// Asks for a console ticket: <paramref name="Mode"/> "interactive" (default; the owner's shell on the node) or "watch"
/// (a read-only view, for an instructor of the lab's group or an admin). <paramref name="Session"/>: reattach to (interactive)
/// or watch that session; without it, interactive opens a new session and watch follows the node's newest one.
/// <paramref name="Target"/> (a new interactive session only): shell, ssh or telnet instead of the node type's console.
/// <paramref name="Username"/> and <paramref name="Password"/> (both, ssh only): log in as this user instead of with the node
/// type's credentials; they stay in the server's memory with the ticket and are never stored or logged.
/// </summary>
public sealed record ConsoleTicketRequest(string? Mode = null, Guid? Session = null, string? Target = null, string? Username = null,
    string? Password = null);

/// <summary>A single-use ticket for the console WebSocket at <paramref name="Url"/> (?ticket=...), valid until <paramref name="ExpiresAt"/>.</summary>
public sealed record ConsoleTicketResponse(string Ticket, DateTimeOffset ExpiresAt, string Url);

/// <summary>A bulk transfer the browser makes itself (POST /api/v1/auth/transfer-tickets): the method and the API path.</summary>
public sealed record TransferTicketRequest(string Method, string Path);

/// <summary>A single-use ticket for one transfer: Url is the path with <c>?transfer=TICKET</c> (add the other query parameters).</summary>
public sealed record TransferTicketResponse(string Ticket, DateTimeOffset ExpiresAt, string Url);

/// <summary>A console session of a node: whose it is, whether its owner is connected, who watches it, what it is connected to
/// (<paramref name="Target"/>: shell, ssh or telnet).</summary>
public sealed record ConsoleSessionDto(Guid Id, string User, string Node, DateTimeOffset StartedAt, bool Attached, IReadOnlyList<string> Watchers,
    string Target = "shell");

// Templates and node types (docs/api.md "Templates", "Node types").

/// <summary>One finding of a topology's (or node type's) validation, with its position.</summary>
public sealed record DiagnosticDto(string File, int Line, int Column, string Severity, string Message);

/// <summary>A topology's text to validate (POST /topologies/validate); <c>FileName</c> decides the format as for an upload
/// (<c>*.clab.yml</c>: containerlab), default topology.yml.</summary>
/// <c>Template</c> (with <c>TemplateVersion</c>, default its current): the text's relative paths (binds, startup
/// configurations) resolve against that template version's files, as when one edits a template that came with files.
/// <c>Files</c> (instead of a template): the paths of the files beside the topology in a folder not uploaded yet (the web
/// editor's opened folder); their content is not needed to check that the references resolve.
public sealed record ValidateTopologyRequest(string Text, string? FileName = null, Guid? Template = null, int? TemplateVersion = null,
    IReadOnlyList<string>? Files = null);

/// <summary>The answer: whether it would deploy, the lab's name if it has one, and every diagnostic (errors and warnings);
/// <c>Model</c>, when it is valid: its nodes (name, kind) and links (endpoints' node and interface), as in the JSON of
/// `ltb topology show` (the editor's preview graph).</summary>
public sealed record TopologyValidationDto(bool Valid, string? Name, IReadOnlyList<DiagnosticDto> Diagnostics,
    System.Text.Json.JsonElement? Model = null);

public sealed record TemplateFileDto(string Path, long Size);

/// <summary>A template version: the topology as uploaded (<c>Yaml</c>; byte for byte at <c>.../source</c>), the resolved
/// model, its files, and the warnings of its validation.</summary>
public sealed record TemplateVersionDto(int Number, string FileName, string Format, string LabName, string Yaml,
    System.Text.Json.JsonElement Model, IReadOnlyList<TemplateFileDto> Files, IReadOnlyList<DiagnosticDto> Warnings,
    string CreatedBy, DateTimeOffset CreatedAt);

public sealed record TemplateVersionSummaryDto(int Number, string FileName, string Format, string LabName, string CreatedBy,
    DateTimeOffset CreatedAt);

/// <summary>A template's metadata; <c>Current</c> (its newest version) in single answers only.</summary>
public sealed record TemplateDto(Guid Id, string Name, Guid OwnerId, string Owner, string Visibility, Guid? GroupId,
    string Description, IReadOnlyList<string> Tags, int CurrentVersion, string Format, DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt, long Version, TemplateVersionDto? Current = null);

/// <summary>Only the fields given change. <c>Tags</c> replaces the tags; <c>Visibility</c>: private, group (with
/// <c>GroupId</c>), everyone.</summary>
public sealed record UpdateTemplateRequest(string? Name = null, string? Description = null, IReadOnlyList<string>? Tags = null,
    string? Visibility = null, Guid? GroupId = null);

/// <summary>A node type of the effective catalog. <c>Origin</c>: built-in, changed (a built-in type an admin redefined) or
/// custom; <c>Definition</c> is its YAML; <c>Version</c> is the ETag (0: as shipped, never changed).</summary>
public sealed record NodeTypeDto(string Name, string Origin, IReadOnlyList<string> Aliases, string Description, string Vendor,
    string Os, string Runtime, string? Image, IReadOnlyList<string> Versions, IReadOnlyList<string> Tags, bool Retired,
    DateTimeOffset? RetiredAt, string? Definition, long Version, IReadOnlyList<NodeTypeHostDto> Hosts);

/// <summary>
/// A lab host that can run a node type (its agent runs the type's kind): its state, whether it holds the type's
/// container image (null: unknown, or a VM type) and whether it has KVM (VM types run without it, slowly, under TCG).
/// </summary>
public sealed record NodeTypeHostDto(Guid Id, string Name, string State, bool? ImagePresent, bool Kvm);

/// <summary><c>Definition</c>: the YAML of a node type (the schema of the built-in files, docs/topology.md).</summary>
public sealed record CreateNodeTypeRequest(string Definition);

/// <summary>A new <c>Definition</c> (same name), and/or <c>Retired</c>: true retires the type, false puts it back in service.</summary>
public sealed record UpdateNodeTypeRequest(string? Definition = null, bool? Retired = null);
