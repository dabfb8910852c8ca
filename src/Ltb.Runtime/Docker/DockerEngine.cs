using Docker.DotNet;
using Docker.DotNet.Models;

namespace Ltb.Runtime.Docker;

/// <summary>What a lab host's container engine says about itself.</summary>
public sealed record EngineFacts(
    string EngineVersion, string ApiVersion, string KernelVersion, long Cpus, long MemoryBytes, IReadOnlyList<string> LtbImages);

/// <summary>The engine cannot be reached: the message says where LTB looked and what to do.</summary>
public sealed class DockerUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// One connection to the Docker engine. The client calls unversioned API paths, so it works with
/// Debian's docker.io 20.10 (API 1.41) as well as current engines; pin a version only where a feature needs it.
/// </summary>
public sealed class DockerEngine : IDisposable
{
    public const string DefaultEndpoint = "unix:///var/run/docker.sock";

    private DockerEngine(DockerClient client) => Client = client;

    public DockerClient Client { get; }

    public static DockerEngine Connect(string? endpoint = null)
    {
        endpoint ??= Environment.GetEnvironmentVariable("DOCKER_HOST") ?? DefaultEndpoint;
        var client = new DockerClientBuilder().WithEndpoint(new Uri(endpoint)).Build();
        return new DockerEngine(client);
    }

    public async Task<EngineFacts> DescribeAsync(CancellationToken ct)
    {
        VersionResponse version;
        SystemInfoResponse info;
        try
        {
            version = await Client.System.GetVersionAsync(ct);
            info = await Client.System.GetSystemInfoAsync(ct);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException or TimeoutException or DockerApiException)
        {
            throw new DockerUnavailableException(
                $"the Docker engine does not answer at {DefaultEndpoint} ({e.Message}); start it (scripts/prepare-host.sh does) or set DOCKER_HOST", e);
        }

        var images = await Client.Images.ListImagesAsync(new ImagesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { ["org.ltb.image"] = true } },
        }, ct);
        var tags = images.SelectMany(i => i.RepoTags ?? []).Order(StringComparer.Ordinal).ToList();
        return new EngineFacts(version.Version, version.APIVersion, info.KernelVersion, info.NCPU, info.MemTotal, tags);
    }

    public void Dispose() => Client.Dispose();
}
