using System.Text.RegularExpressions;
using Ltb.Agent;
using Ltb.Runtime.Planning;
using Ltb.Runtime.Status;
using Ltb.Server.Data;
using Ltb.Topology.Catalog;

namespace Ltb.Server.Labs;

/// <summary>
/// A node's device information (docs/api.md "Device information"): the host's description (<see cref="ILabHostAgent.DescribeNodeAsync"/>),
/// the device's own answers to its type's commands (run through exec with a timeout and an output bound), the catalog's
/// type, the lab's groups. Commands are the catalog's words split like a shell would, handed to exec as an argument
/// vector: no shell runs them and no user input reaches them.
/// </summary>
public static partial class NodeInfo
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);

    /// <summary>The most of the show-version answer kept (the version is in its first lines).</summary>
    public const int VersionOutputLimit = 4096;

    [GeneratedRegex(@"\b\d+\.\d+(?:\.\d+)*(?:[-+~][0-9A-Za-z.]+)?")]
    private static partial Regex VersionNumber();

    /// <param name="config">Also ask the device for its running configuration (the type's show-config).</param>
    /// <param name="outputLimit">The most of the running configuration kept (the tenant policy's exec output limit).</param>
    public static async Task<NodeInfoDto> BuildAsync(Lab lab, string node, ILabHostAgent agent, NodeTypeCatalog catalog, string? host,
        bool config, long outputLimit, DateTimeOffset now, CancellationToken ct)
    {
        var details = await agent.DescribeNodeAsync(lab.RuntimeName, node, ct);
        var kind = LabViews.Kinds(lab).GetValueOrDefault(node) ?? NodeTypeCatalog.DefaultKind;
        var type = DeviceType(catalog, kind, details.Image);
        var running = details.State == NodeState.Running;
        var version = await AskAsync(agent, lab, node, running, type?.ShowVersionCommand, "show-version", VersionOutputLimit, ct);
        var runningConfig = config
            ? await AskAsync(agent, lab, node, running, type?.ShowConfigCommand, "show-config", outputLimit, ct)
            : default;
        var groups = LabViews.Groups(lab).TryGetValue(node, out var g) ? new[] { g } : [];
        return new NodeInfoDto(lab.Id, lab.Name, node, kind, type?.Name ?? kind, type?.Vendor ?? "", type?.Os ?? "", type?.Versions ?? [],
            version.Output is { } v ? VersionNumber().Match(v) is { Success: true } m ? m.Value : null : null, version.Output, version.Error,
            details.Runtime, details.State.ToString().ToLowerInvariant(), host, details.Image, details.ImageId, details.ImageDigests,
            groups, details.Labels, type?.Tags ?? [], details.StartedAt,
            details.StartedAt is { } at ? (long)Math.Max(0, (now - at).TotalSeconds) : null, details.DiskBytes,
            details.Interfaces.Select(ToDto).ToList(), details.StartupConfig, details.StartupConfigTruncated,
            runningConfig.Output, runningConfig.Truncated, runningConfig.Error);
    }

    /// <summary>
    /// The catalog type a node is: its kind's, unless that kind is generic (no show-version: linux) and the node runs the
    /// default image of a type that is not (an FRR image under kind linux, as containerlab's frr01 does, is an frr device).
    /// </summary>
    public static NodeType? DeviceType(NodeTypeCatalog catalog, string kind, string image)
    {
        var type = catalog.Find(kind);
        if (type?.ShowVersionCommand is not null)
        {
            return type;
        }
        var repository = Repository(image);
        return catalog.Types.FirstOrDefault(t => t.ShowVersionCommand is not null && t.Image is { } i && Repository(i) == repository) ?? type;
    }

    /// <summary>An image reference without its tag or digest (<c>quay.io/frrouting/frr:10.5.1</c> -> <c>quay.io/frrouting/frr</c>).</summary>
    private static string Repository(string image)
    {
        var at = image.IndexOf('@', StringComparison.Ordinal);
        var name = at >= 0 ? image[..at] : image;
        var colon = name.LastIndexOf(':');
        return colon > name.LastIndexOf('/') ? name[..colon] : name;
    }

    private readonly record struct Answer(string? Output, bool Truncated, string? Error);

    private static async Task<Answer> AskAsync(ILabHostAgent agent, Lab lab, string node, bool running, string? command, string what,
        long limit, CancellationToken ct)
    {
        if (command is null)
        {
            return new(null, false, $"the node type has no {what} command");
        }
        if (!running)
        {
            return new(null, false, "the node is not running");
        }
        var argv = ShellWords.Split(command, out var error);
        if (error is not null || argv.Count == 0)
        {
            return new(null, false, $"the node type's {what} command cannot be split into words: {error}");
        }
        try
        {
            var r = await agent.ExecAsync(lab.RuntimeName, node, argv, CommandTimeout, limit, ct);
            return r.ExitCode == 0 || r.Truncated
                ? new(r.Stdout, r.Truncated, null)
                : new(null, false, $"'{command}' ended with exit code {r.ExitCode}: {Cut(r.Stderr.Trim() is { Length: > 0 } e ? e : r.Stdout.Trim(), 500)}");
        }
        catch (LabRuntimeException e)
        {
            return new(null, false, e.Cause);
        }
    }

    private static string Cut(string s, int max) => s.Length <= max ? s : s[..max];

    private static NodeInterfaceDto ToDto(InterfaceDetails i) => new(i.Name, i.Mac, i.Mtu, i.OperState, i.AdminUp, i.Carrier, i.Addresses, i.Peer,
        i.Counters is { } c ? new InterfaceCountersDto(c.RxBytes, c.RxPackets, c.RxErrors, c.RxDropped, c.TxBytes, c.TxPackets, c.TxErrors, c.TxDropped) : null);
}
