using System.Text;
using Ltb.Runtime.Network;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Labs;

/// <summary>
/// Device information from the host's side (issue #16): the driver's description of a node, its labels and startup
/// configuration from the applied plan, and its interfaces (addresses, state, counters) read in its pinned namespace
/// with the peers from the plan's links. What the node itself says (version, running configuration) is the
/// controller's part: it runs the node type's commands through exec.
/// </summary>
internal sealed class NodeDescriptions(LabContext x)
{
    public async Task<NodeDetails> DescribeAsync(string lab, string node, CancellationToken ct)
    {
        var (record, n) = x.Find(lab, node);
        var driver = x.Driver(lab, n);
        var description = await driver.DescribeAsync(lab, node, ct);
        var interfaces = await InterfacesAsync(record.Plan, node, ct);
        var (config, cut) = StartupConfig(lab, n);
        return new NodeDetails(node, n.Runtime.ToString().ToLowerInvariant(), description.State, description.Image, description.ImageId,
            description.ImageDigests, description.StartedAt, description.DiskBytes, n.Labels, interfaces, config, cut);
    }

    private async Task<IReadOnlyList<InterfaceDetails>> InterfacesAsync(LabPlan plan, string node, CancellationToken ct)
    {
        var ns = Names.Netns(plan.LabName, node);
        if (!x.Net.ListNamespaces().Contains(ns))
        {
            return []; // never started, or stopped before its namespace was pinned
        }
        var peers = LabContext.Peers(plan);
        try
        {
            return (await x.Net.ReadInterfacesAsync(ns, ct)).Where(i => i.Name != "lo")
                .Select(i => i with { Peer = peers.GetValueOrDefault($"{node}:{i.Name}") })
                .OrderBy(i => i.Name, StringComparer.Ordinal).ToList();
        }
        catch (HostNetworkException)
        {
            return []; // the namespace went away while it was read
        }
    }

    /// <summary>
    /// The startup configuration as the node was given it. A lab file is opened and then checked to be the very file
    /// named, reached through no symbolic link (the folder is shared with nodes, which may leave links there): the host
    /// never reads a file the plan did not name.
    /// </summary>
    private static (string? Text, bool Truncated) StartupConfig(string lab, NodePlan node)
    {
        var config = node.StartupConfig;
        if (config?.InlineText is { } inline)
        {
            return Cut(inline);
        }
        if (config?.HostFile is not { } path)
        {
            return (null, false);
        }
        try
        {
            var full = Path.GetFullPath(path);
            using var handle = File.OpenHandle(full, FileMode.Open, FileAccess.Read);
            var opened = new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget;
            if (opened != full || File.GetAttributes(handle).HasFlag(FileAttributes.Directory))
            {
                return ($"(not shown: {path} is not the regular file the plan named)", false);
            }
            var buffer = new byte[NodeDetails.StartupConfigLimit + 1];
            var read = 0;
            int got;
            while (read < buffer.Length && (got = RandomAccess.Read(handle, buffer.AsSpan(read), read)) > 0)
            {
                read += got;
            }
            var truncated = read > NodeDetails.StartupConfigLimit;
            return (Encoding.UTF8.GetString(buffer, 0, Math.Min(read, NodeDetails.StartupConfigLimit)), truncated);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LabRuntimeException(lab, node.Name, $"its startup configuration {path} cannot be read: {e.Message}", e);
        }
    }

    private static (string, bool) Cut(string text) =>
        text.Length <= NodeDetails.StartupConfigLimit ? (text, false) : (text[..NodeDetails.StartupConfigLimit], true);
}
