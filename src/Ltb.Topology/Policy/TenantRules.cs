using Ltb.Topology.Catalog;
using Ltb.Topology.Model;
using Ltb.Topology.Spec;
using Ltb.Topology.Validation;
using Ltb.Topology.Yaml;

namespace Ltb.Topology.Policy;

/// <summary>
/// What a non-administrator's topology may not ask of a lab host (issue #10, docs/security.md): every refusal is found
/// here, when the topology is validated, positioned at the setting as written and saying that it needs an
/// administrator. The resolvers call in; nothing else decides. Trusted callers (admins) pass every check except one
/// that is about the lab itself: `network-mode: container:NODE` naming a node the lab does not define.
/// </summary>
internal sealed class TenantRules
{
    private const string Admin = "needs an administrator";

    /// <summary>containerlab node keys that reach the host (devices, another runtime or kernel, exposure to the internet, extra files).</summary>
    public static readonly IReadOnlyList<string> HostKeys = ["devices", "runtime", "sandbox", "kernel", "publish", "extras"];

    private readonly LoadOptions _options;
    private readonly HashSet<string> _labNodes;
    private readonly DiagnosticBag _diagnostics;
    private readonly HashSet<string> _catalogRepositories;

    public TenantRules(LoadOptions options, IEnumerable<string> labNodes, DiagnosticBag diagnostics)
    {
        _options = options;
        _labNodes = labNodes.ToHashSet(StringComparer.Ordinal);
        _diagnostics = diagnostics;
        _catalogRepositories = options.Catalog.Types.Select(t => t.Image).OfType<string>().Select(Repository).ToHashSet(StringComparer.Ordinal);
    }

    private bool Trusted => _options.Trusted;

    private TenantPolicy Policy => _options.Policy;

    /// <summary>Capabilities: the node type's (refused at the node's kind) and `cap-add` (refused at the entry).</summary>
    public void Capabilities(string node, NodeType type, SourceSpan kindAt, IEnumerable<Positioned<string>> capAdd)
    {
        if (Trusted)
        {
            return;
        }
        var allowed = Allowed();
        foreach (var cap in type.Capabilities.Where(c => !Policy.Capabilities.Contains(Capability(c))))
        {
            _diagnostics.Error(kindAt, $"node '{node}': kind '{type.Name}' has capability {Capability(cap)}, which {Admin}; allowed: {allowed}");
        }
        foreach (var cap in capAdd.Where(c => !Policy.Capabilities.Contains(Capability(c.Value))))
        {
            _diagnostics.Error(cap.Span, $"node '{node}': capability {Capability(cap.Value)} {Admin}; allowed: {allowed}");
        }
    }

    /// <summary>`network-mode`: only `none` or `container:NODE` of this lab for non-admins; a NODE outside the lab for admins only.</summary>
    public void NetworkMode(string node, Positioned<string> mode)
    {
        const string Prefix = "container:";
        if (mode.Value.StartsWith(Prefix, StringComparison.Ordinal))
        {
            var target = mode.Value[Prefix.Length..];
            if (!_labNodes.Contains(target) && !Trusted)
            {
                _diagnostics.Error(mode.Span, $"node '{node}': network-mode '{mode.Value}' names '{target}', which is not a node of this lab; " +
                    $"sharing the network of a container outside the lab {Admin}; defined nodes: {string.Join(", ", _labNodes.Order(StringComparer.Ordinal))}");
            }
            else if (target == node)
            {
                _diagnostics.Error(mode.Span, $"node '{node}': network-mode '{mode.Value}' names the node itself; name another node of the lab");
            }
            return;
        }
        if (mode.Value != "none" && !Trusted)
        {
            _diagnostics.Error(mode.Span, $"node '{node}': network-mode '{mode.Value}' {Admin}; use none or container:NODE with a node of this lab");
        }
    }

    /// <summary>containerlab keys that reach the host (<see cref="HostKeys"/>), at the most specific level that sets them.</summary>
    public void HostSettings(string node, IEnumerable<NodeSpec> levelsMostSpecificFirst)
    {
        if (Trusted)
        {
            return;
        }
        foreach (var key in HostKeys)
        {
            if (levelsMostSpecificFirst.FirstOrDefault(l => l.UnsupportedAt.ContainsKey(key)) is { } level)
            {
                _diagnostics.Error(level.UnsupportedAt[key], $"node '{node}': '{key}' {Admin} (it reaches the lab host)");
            }
        }
    }

    /// <summary>A published port: allowed by the policy, inside its host port range, on its address. Answers the mapping to use.</summary>
    public PortMapping Port(string node, Positioned<string> written, PortMapping port)
    {
        if (Trusted)
        {
            return port;
        }
        var p = Policy.Ports;
        if (!p.Allowed)
        {
            _diagnostics.Error(written.Span, $"node '{node}': port '{written.Value}' {Admin} (publishing ports on the lab host is not allowed to non-administrators)");
        }
        else if (port.HostPort < p.First || port.HostPort > p.Last)
        {
            _diagnostics.Error(written.Span, $"node '{node}': host port {port.HostPort} of port '{written.Value}' {Admin}; allowed: {p.First}-{p.Last}");
        }
        else if (port.HostIp is { } ip && ip.Trim('[', ']') != p.Address)
        {
            _diagnostics.Error(written.Span, $"node '{node}': host address {ip} of port '{written.Value}' {Admin}; allowed: {p.Address} (or leave the address out)");
        }
        // A port written without an address is published on the policy's address only, never on all of the host's.
        return port.HostIp is null ? port with { HostIp = p.Address } : port;
    }

    /// <summary>An image written in the topology: the catalog's, the policy's, or one already on the lab hosts.</summary>
    public void Image(string node, Positioned<string> written, string image)
    {
        if (Trusted || _catalogRepositories.Contains(Repository(image)) || MatchesPolicy(image) || IsLocal(image))
        {
            return;
        }
        _diagnostics.Error(written.Span, $"node '{node}': image '{image}' {Admin}; use a device catalog image, an image on the lab hosts" +
            (Policy.Images.Count > 0 ? $" or one of: {string.Join(", ", Policy.Images)}" : ""));
    }

    /// <summary>Links that create interfaces on the host or tunnels to other machines: admins only.</summary>
    public void LinkType(LinkType type, string written, SourceSpan at, string where)
    {
        if (Trusted || type == Model.LinkType.Veth)
        {
            return;
        }
        _diagnostics.Error(at, $"{where}: a {written} link {Admin} (it touches the lab host's interfaces or reaches other machines)");
    }

    /// <summary>`mgmt:` settings that join or change something on the host.</summary>
    public void Mgmt(YNode? mgmt, MgmtNetwork network)
    {
        if (Trusted || mgmt is not YMapping m)
        {
            return;
        }
        if (m["bridge"] is { } bridge)
        {
            _diagnostics.Error(bridge.Span, $"'mgmt.bridge' {Admin} (it names a bridge of the lab host); leave it out and LTB gives the lab its own");
        }
        if (network.ExternalAccess == true && m["external-access"] is { } ea)
        {
            _diagnostics.Error(ea.Span, $"'mgmt.external-access: true' {Admin} (it opens the lab host's firewall); leave it out");
        }
        if (m["network"] is { } name && network.Network != MgmtNetwork.DefaultNetwork)
        {
            _diagnostics.Error(name.Span, $"'mgmt.network: {network.Network}' {Admin} (a named network may be one outside the lab); leave it out and LTB gives the lab its own");
        }
    }

    private string Allowed() => string.Join(", ", Policy.Capabilities.Order(StringComparer.Ordinal));

    /// <summary>Docker accepts `sys_admin` and `CAP_SYS_ADMIN` for SYS_ADMIN: compare the canonical name.</summary>
    internal static string Capability(string written)
    {
        var upper = written.Trim().ToUpperInvariant();
        return upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper[4..] : upper;
    }

    private bool MatchesPolicy(string image) =>
        Policy.Images.Any(p => p.EndsWith('*') ? image.StartsWith(p[..^1], StringComparison.Ordinal) : p == image || p == WithTag(image));

    private bool IsLocal(string image) => _options.LocalImages.Contains(image) || _options.LocalImages.Contains(WithTag(image));

    /// <summary>`repo` is `repo:latest` to Docker.</summary>
    internal static string WithTag(string image) =>
        image.Contains('@', StringComparison.Ordinal) || image.LastIndexOf(':') > image.LastIndexOf('/') ? image : image + ":latest";

    /// <summary>The image without tag or digest (`quay.io/frrouting/frr:10.5.1` -> `quay.io/frrouting/frr`).</summary>
    internal static string Repository(string image)
    {
        var at = image.IndexOf('@', StringComparison.Ordinal);
        var name = at >= 0 ? image[..at] : image;
        var colon = name.LastIndexOf(':');
        return colon > name.LastIndexOf('/') ? name[..colon] : name;
    }
}
