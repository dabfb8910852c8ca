namespace Ltb.Testing;

/// <summary>scripts/publish.sh once for a test class (its fixture): the self-contained linux-x64 folder, deleted afterwards.</summary>
public sealed class PublishedLtb : IAsyncLifetime
{
    public string Folder { get; } = Path.Combine(Directory.CreateTempSubdirectory("ltb-publish-").FullName, "ltb");

    public string Ltb => Path.Combine(Folder, "ltb");

    public async ValueTask InitializeAsync() =>
        (await HostCommand.RunAsync("bash", [Path.Combine(Repo.Root, "scripts", "publish.sh"), Folder], TimeSpan.FromMinutes(10)))
            .EnsureSuccess("scripts/publish.sh");

    public ValueTask DisposeAsync()
    {
        Directory.Delete(Path.GetDirectoryName(Folder)!, recursive: true);
        return ValueTask.CompletedTask;
    }
}
