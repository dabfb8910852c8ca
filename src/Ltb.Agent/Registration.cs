namespace Ltb.Agent;

/// <summary>What a host offers, as its agent measured it (reported at registration and with every heartbeat).</summary>
/// <param name="DiskBytes">Free bytes on the filesystem of the agent's data folder.</param>
/// <param name="Images">The image tags the host's engine holds.</param>
/// <param name="Kinds">The node kinds the host can run.</param>
/// <param name="Kvm">Whether /dev/kvm can be opened (VM nodes can use hardware acceleration).</param>
/// <param name="TunnelAddress">The address other hosts send this host's VXLAN traffic to (links of labs that span hosts);
/// null: the host takes no part in such labs.</param>
/// <param name="Isolation">How the host's engine walls containers off (user namespaces, seccomp, AppArmor); null: not reported.</param>
public sealed record AgentFacts(int Cpus, long MemoryBytes, long DiskBytes, bool Kvm, IReadOnlyList<string> Images,
    IReadOnlyList<string> Kinds, string EngineVersion, string? TunnelAddress = null, Ltb.Runtime.Docker.EngineIsolation? Isolation = null);

/// <summary>
/// POST /api/v1/hosts/register, sent by `ltb agent` with `Authorization: Bearer HOST-TOKEN`.
/// </summary>
/// <param name="Address">The gRPC URL the controller reaches the agent at.</param>
/// <param name="Labs">The labs the agent holds (rebuilt from its engine and state folder after a restart).</param>
public sealed record AgentRegistration(string Name, string Address, AgentFacts Facts, Dictionary<string, string>? Labels,
    IReadOnlyList<string> Labs, string Version);

/// <summary>The controller's answer: the host's id, the secret it will present on every call, how often to report.</summary>
public sealed record AgentRegistered(Guid HostId, string Secret, int HeartbeatSeconds);

/// <summary>POST /api/v1/hosts/{id}/heartbeat, with the same host token.</summary>
public sealed record AgentHeartbeat(AgentFacts Facts, IReadOnlyList<string> Labs);
