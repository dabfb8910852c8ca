using Ltb.Runtime.Status;

namespace Ltb.Runtime.Nodes;

/// <summary>
/// What a node's driver knows of it beyond its status (<see cref="INodeDriver.DescribeAsync"/>): the image it runs as the
/// host resolved it, since when it runs, and how much disk it writes (a container's writable layer, a VM's overlay).
/// </summary>
/// <param name="ImageId">The host's id of the image (e.g. <c>sha256:...</c>); null when unknown.</param>
/// <param name="ImageDigests">The image's registry digests (<c>NAME@sha256:...</c>); empty for a locally built image.</param>
/// <param name="StartedAt">When the node last started (null: never, or not running).</param>
/// <param name="DiskBytes">What the node wrote to its own disk layer; null when the driver cannot tell.</param>
public sealed record NodeDescription(string Node, NodeState State, string Image, string? ImageId, IReadOnlyList<string> ImageDigests,
    DateTimeOffset? StartedAt, long? DiskBytes);
