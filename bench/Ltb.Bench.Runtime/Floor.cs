// Docker.DotNet's models are annotated non-null but treat null as 'omit the field'.
#pragma warning disable CS8601
using System.Diagnostics;
using System.Globalization;
using Docker.DotNet.Models;
using Ltb.Runtime.Docker;

/// <summary>
/// What the engine alone costs for N containers, without any of LTB's work: create all, start all, remove all, straight
/// through the Docker API with the given parallelism, attached to NETWORK: "bridge" (Docker's default bridge, as the
/// baseline script uses), "none" (no Docker networking at all) or "user" (a fresh user-defined bridge network, as LTB's
/// per-lab management network; Docker adds its embedded DNS resolver to every container on such a network).
/// Prints "create S", "start S", "remove S".
/// </summary>
internal static class Floor
{
    public static async Task RunAsync(int n, string network, int parallelism, string image)
    {
        using var engine = DockerEngine.Connect();
        var tag = $"floor{Guid.NewGuid():N}"[..13];
        var mode = network;
        if (network == "user")
        {
            mode = tag;
            await engine.Client.Networks.CreateNetworkAsync(new NetworksCreateParameters { Name = tag, Driver = "bridge", Labels = new Dictionary<string, string> { ["org.ltb.bench"] = tag } });
        }
        var par = new ParallelOptions { MaxDegreeOfParallelism = parallelism };
        var names = Enumerable.Range(1, n).Select(i => $"{tag}-{i}").ToList();
        var sw = Stopwatch.StartNew();
        try
        {
            await Parallel.ForEachAsync(names, par, async (name, ct) => await engine.Client.Containers.CreateContainerAsync(new CreateContainerParameters
            {
                Name = name,
                Image = image,
                Labels = new Dictionary<string, string> { ["org.ltb.bench"] = tag },
                HostConfig = new HostConfig { NetworkMode = mode, CapAdd = ["NET_ADMIN"] },
            }, ct));
            Print("create", sw);
            await Parallel.ForEachAsync(names, par, async (name, ct) => await engine.Client.Containers.StartContainerAsync(name, new ContainerStartParameters(), ct));
            Print("start", sw);
        }
        finally
        {
            await Parallel.ForEachAsync(names, par, async (name, ct) =>
            {
                try
                {
                    await engine.Client.Containers.RemoveContainerAsync(name, new ContainerRemoveParameters { Force = true }, ct);
                }
                catch (Docker.DotNet.DockerContainerNotFoundException)
                {
                }
            });
            Print("remove", sw);
            if (network == "user")
            {
                // The engine may still be tearing a just-removed container's endpoint down: a few tries.
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        await engine.Client.Networks.DeleteNetworkAsync(tag);
                        break;
                    }
                    catch (Docker.DotNet.DockerApiException) when (attempt < 20)
                    {
                        await Task.Delay(500);
                    }
                }
            }
        }
    }

    private static void Print(string phase, Stopwatch sw)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{phase} {sw.Elapsed.TotalSeconds:0.00}"));
        sw.Restart();
    }
}
