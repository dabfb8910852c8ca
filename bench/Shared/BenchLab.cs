using System.Net.Http.Headers;
using Ltb.Client;
using Ltb.Contracts;

/// <summary>What the benchmarks that start their own `ltb serve` share: a free port, a lab deployed and waited for.</summary>
internal static class BenchLab
{
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Deploys <paramref name="yaml"/> as lab <paramref name="lab"/> and waits until it runs; the lab as deployed.</summary>
    public static async Task<LabDto> DeployAsync(LtbApiClient admin, string lab, string yaml, CancellationToken ct)
    {
        using var content = new MultipartFormDataContent();
        var file = new StringContent(yaml);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Add(file, "topology", $"{lab}.clab.yml");
        var accepted = await admin.DeployLabAsync(content, ct);
        for (var task = accepted.Task; ; task = await admin.GetTaskAsync(task.Id, ct))
        {
            if (task.State == "succeeded")
            {
                return accepted.Lab;
            }
            if (task.State == "failed")
            {
                throw new InvalidOperationException($"deploying {lab} failed: {task.Error}");
            }
            await Task.Delay(250, ct);
        }
    }
}
