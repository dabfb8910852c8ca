using System.Net.Http.Json;
using Ltb.Runtime.Docker;
using Ltb.Runtime.Nodes;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// A folder on the host that no lab may touch: one file with known content. A node plants links to it in its
/// writable bind; afterwards the folder must hold exactly what it held (nothing written, nothing removed).
/// </summary>
public sealed class Canary : IDisposable
{
    private const string Content = "untouched\n";

    private Canary(string path) => Path = path;

    public string Path { get; }

    public static Canary Create()
    {
        var dir = Directory.CreateTempSubdirectory("ltb-canary-").FullName;
        File.WriteAllText(System.IO.Path.Combine(dir, "canary.txt"), Content);
        // Writable by anyone, as a careless host folder would be: only LTB's refusal to follow links protects it.
        File.SetUnixFileMode(dir, (UnixFileMode)0x1FF);
        return new Canary(dir);
    }

    public void AssertUntouched()
    {
        Assert.Equal(["canary.txt"], Directory.GetFileSystemEntries(Path).Select(System.IO.Path.GetFileName));
        Assert.Equal(Content, File.ReadAllText(System.IO.Path.Combine(Path, "canary.txt")));
    }

    /// <summary>
    /// Node <paramref name="node"/> replaces what LTB wrote in its `:rw` bind at /data by links to the canary (LTB gives a
    /// writable bind of the lab's files to the node's root, also under user-namespace remapping).
    /// </summary>
    public async Task PlantAsync(HttpClient client, string lab, string runtimeName, string node = "a", string? dockerHost = null)
    {
        using var engine = DockerEngine.Connect(dockerHost);
        var inspect = await engine.Client.Containers.InspectContainerAsync(Names.Container(runtimeName, node));
        Assert.Contains(inspect.Mounts, m => m.Destination == "/data" && m.RW);
        string[] plant = ["sh", "-c", $"rm -rf /data/seed.txt /data/sub && ln -s {Path}/canary.txt /data/seed.txt && ln -s {Path} /data/sub && ln -s {Path} /data/more"];
        var planted = await Http.ReadAsync<ExecResponse>(await client.PostAsJsonAsync($"/api/v1/labs/{lab}/exec", new ExecRequest(node, plant)), 200);
        Assert.True(planted.ExitCode == 0, planted.Stderr);
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
