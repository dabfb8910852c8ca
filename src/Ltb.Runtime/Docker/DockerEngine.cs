using Docker.DotNet;
using Docker.DotNet.Models;

namespace Ltb.Runtime.Docker;

/// <summary>What a lab host's container engine says about itself.</summary>
public sealed record EngineFacts(
    string EngineVersion, string ApiVersion, string KernelVersion, long Cpus, long MemoryBytes, IReadOnlyList<string> LtbImages,
    EngineIsolation? Isolation = null);

/// <summary>
/// How the engine walls its containers off from the host (docs/security.md, "Privileges"): root in a node is an
/// unprivileged host user (user-namespace remapping), system calls are filtered (seccomp), AppArmor confines them.
/// </summary>
public sealed record EngineIsolation(bool UserNamespaces, bool Seccomp, bool AppArmor)
{
    /// <summary>From the engine's security options (<c>docker info</c>: "name=seccomp,profile=default", "name=userns", ...).</summary>
    public static EngineIsolation From(IEnumerable<string>? securityOptions)
    {
        var names = (securityOptions ?? []).Select(o => o.Split(',')[0].Replace("name=", "", StringComparison.Ordinal))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        return new EngineIsolation(names.Contains("userns"), names.Contains("seccomp"), names.Contains("apparmor"));
    }

    /// <summary>A warning for a lab on such a host, or null when root in its nodes is an unprivileged host user.</summary>
    public string? Warning(string host) => UserNamespaces ? null : WithoutUserNamespaces(host);

    /// <summary>What it means for the labs of <paramref name="host"/> that its engine does not remap users, and the cure.</summary>
    public static string WithoutUserNamespaces(string host) =>
        $"{host} runs its container engine without user-namespace remapping: root in a node is root on the host, and " +
        "only the capability allowlist, seccomp and the node limits stand between them; start dockerd with " +
        "--userns-remap=default (docs/operations.md, \"Lab host engines\")";
}

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
        return new EngineFacts(version.Version, version.APIVersion, info.KernelVersion, info.NCPU, info.MemTotal, tags,
            EngineIsolation.From(info.SecurityOptions));
    }

    private EngineIsolation? _isolation;

    /// <summary>The engine's isolation (a daemon-wide setting: asked once per connection).</summary>
    public async Task<EngineIsolation> IsolationAsync(CancellationToken ct) =>
        _isolation ??= EngineIsolation.From((await Client.System.GetSystemInfoAsync(ct)).SecurityOptions);

    public void Dispose() => Client.Dispose();
}
