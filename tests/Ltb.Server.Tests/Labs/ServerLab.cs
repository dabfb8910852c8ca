using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;

namespace Ltb.Server.Tests.Labs;

/// <summary>
/// One lab a test deploys through the API: the deployment and its task, later deployments of the same lab (a
/// reconfiguration, a redeploy after a destroy), the destroy through the API and the proof that the engine holds nothing
/// of it. Disposing destroys whatever is still there without asserting, so that a failing test keeps its own failure; a
/// test proves the clean-up itself with <see cref="DestroyAsync"/> and <see cref="AssertNoLeftoversAsync"/>.
/// </summary>
public sealed class ServerLab : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly string? _dockerHost;
    // Every deployment's runtime name: a lab deployed again after a destroy is a new lab with a name of its own.
    private readonly List<string> _runtimeNames = [];
    private bool _destroyed;

    private ServerLab(HttpClient client, LabTaskAccepted accepted, string? dockerHost)
    {
        _client = client;
        _dockerHost = dockerHost;
        Use(accepted);
    }

    /// <summary>The last deployment: the lab as it was accepted and its task.</summary>
    public LabTaskAccepted Accepted { get; private set; } = null!;
    public Guid Id => Accepted.Lab.Id;
    public string Name => Accepted.Lab.Name;
    public string RuntimeName => Accepted.Lab.RuntimeName;

    /// <summary>Deploys <paramref name="yaml"/> and waits until the lab runs (the task's log is the failure otherwise).</summary>
    public static async Task<ServerLab> RunAsync(HttpClient client, string yaml, string? linkBackend = null) =>
        await RunAsync(client, LabTestSupport.Upload(yaml, linkBackend: linkBackend));

    /// <summary>
    /// Sends a deployment form (an upload, a template, files for another host), disposes it and waits until the lab
    /// runs. <paramref name="dockerHost"/>: the engine of the lab's host, when it is not this machine's.
    /// </summary>
    public static async Task<ServerLab> RunAsync(HttpClient client, HttpContent form, string? dockerHost = null)
    {
        var lab = await StartAsync(client, form, dockerHost);
        try
        {
            await lab.RequireSucceededAsync();
            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends the deployment and returns at once (a test that expects it to fail, or watches it, waits itself).</summary>
    public static async Task<ServerLab> StartAsync(HttpClient client, string yaml) => await StartAsync(client, LabTestSupport.Upload(yaml));

    public static async Task<ServerLab> StartAsync(HttpClient client, HttpContent form, string? dockerHost = null)
    {
        using (form)
        {
            return Of(client, await Http.ReadAsync<LabTaskAccepted>(await client.PostAsync("/api/v1/labs", form), 202), dockerHost);
        }
    }

    /// <summary>A lab whose deployment the test sent itself (several at once, through several clients).</summary>
    public static ServerLab Of(HttpClient client, LabTaskAccepted accepted, string? dockerHost = null) => new(client, accepted, dockerHost);

    /// <summary>Waits for the last deployment's task to end, whatever its outcome.</summary>
    public Task<LabTaskDto> WaitAsync() => LabTestSupport.WaitAsync(_client, Accepted.Task.Id);

    /// <summary>Deploys the lab again (a reconfiguration, or a new deployment after a destroy) and waits until it runs.</summary>
    public async Task AgainAsync(HttpContent form)
    {
        using (form)
        {
            Use(await Http.ReadAsync<LabTaskAccepted>(await _client.PostAsync("/api/v1/labs", form), 202));
        }
        await RequireSucceededAsync();
    }

    /// <summary>Asks for the removal and returns its task at once (a test that watches the removal).</summary>
    public async Task<LabTaskAccepted> StartDestroyAsync(HttpClient? client = null)
    {
        var removal = await Http.ReadAsync<LabTaskAccepted>(await (client ?? _client).DeleteAsync($"/api/v1/labs/{Id}"), 202);
        _destroyed = true;
        return removal;
    }

    /// <summary>Destroys the lab through the API (by default as whoever deployed it) and requires the removal to succeed.</summary>
    public async Task DestroyAsync(HttpClient? client = null)
    {
        var removal = await StartDestroyAsync(client);
        var task = await LabTestSupport.WaitAsync(client ?? _client, removal.Task.Id);
        Assert.True(task.State == "succeeded", $"the removal of {Name}: {task.Error}\n{string.Join('\n', task.Log)}");
    }

    /// <summary>
    /// The lab's host holds nothing of any deployment of it (containers, networks and, on this machine, namespaces): after
    /// a destroy, or after a deployment that failed. It does not destroy: that is what it proves.
    /// </summary>
    public async Task AssertNoLeftoversAsync()
    {
        foreach (var runtimeName in _runtimeNames)
        {
            Assert.Equal(0, await LabTestSupport.LeftoversAsync(runtimeName, _dockerHost));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_destroyed)
        {
            return;
        }
        try
        {
            await DestroyAsync();
        }
        catch (Exception e)
        {
            // The test failed already (else it destroyed the lab itself): its own failure is the one to report.
            TestContext.Current.TestOutputHelper?.WriteLine($"destroying {Name} after the test: {e.Message}");
        }
    }

    private void Use(LabTaskAccepted accepted)
    {
        Accepted = accepted;
        _destroyed = false;
        if (!_runtimeNames.Contains(accepted.Lab.RuntimeName))
        {
            _runtimeNames.Add(accepted.Lab.RuntimeName);
        }
    }

    private async Task RequireSucceededAsync()
    {
        var task = await WaitAsync();
        Assert.True(task.State == "succeeded", $"{task.Error}\n{string.Join('\n', task.Log)}");
    }
}
