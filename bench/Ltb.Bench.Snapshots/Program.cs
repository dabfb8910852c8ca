using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Ltb.Client;
using Ltb.Contracts;

// Usage: Ltb.Bench.Snapshots [--ltb PATH]
// Starts a real `ltb serve` (root; a fresh data folder, a free loopback port) and deploys the corpus's frr01 (3 FRR
// routers, 3 hosts). Once FRR answers on every router, in one run:
//   0. baselines: the deployment's own time (what a restore is compared with), and `docker commit` of the 6 containers
//      (what a naive snapshot costs; the committed top layers' sizes are what it would store beside its images);
//   1. `POST /labs/{lab}/snapshots` until its task succeeded: time and the snapshot's size;
//   2. the lab destroyed, then `POST /labs` with the snapshot until the deployment succeeded: the restore's time.
var repo = Machine.RepoRoot();
var ltb = args is ["--ltb", var path] ? path : Path.Combine(repo, "ltb");
var data = Directory.CreateTempSubdirectory("ltb-bench-snapshots-").FullName;
var password = "Bench-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)) + "a1";
var url = $"http://127.0.0.1:{BenchLab.FreePort()}";
Console.WriteLine($"machine: {Machine.Describe()}");
using var server = ServeProcess.Start(ltb, data, url, password, readCache: true, new Dictionary<string, string> { ["LTB_SSH_PORT"] = "off" });
var ct = CancellationToken.None;
LtbApiClient? admin = null;
var labs = new List<string>();
var exit = 1;
try
{
    await server.WaitUntilListeningAsync(TimeSpan.FromMinutes(5));
    using (var anonymous = new LtbApiClient(new Uri(url), null))
    {
        admin = new LtbApiClient(new Uri(url), (await anonymous.SignInAsync("admin", password, ct)).Token);
    }
    var name = "snapb" + Convert.ToHexString(RandomNumberGenerator.GetBytes(2)).ToLowerInvariant();
    var clock = Stopwatch.StartNew();
    var lab = await RunAsync(admin, Frr01Upload(repo, name), ct);
    var deployed = clock.Elapsed;
    labs.Add(lab.Id.ToString());
    foreach (var router in new[] { "router1", "router2", "router3" })
    {
        await WaitForFrrAsync(admin, lab.Id.ToString(), router, ct);
    }

    // Baseline: docker commit of every node (then the committed images are removed).
    var containers = (await admin.GetLabAsync(lab.Id.ToString(), ct)).Nodes.Select(n => n.ContainerName!).ToList();
    clock.Restart();
    long committedBytes = 0;
    foreach (var container in containers)
    {
        var image = $"ltb-bench-snapshots/{container.ToLowerInvariant()}:latest";
        await DockerAsync("commit", container, image);
        committedBytes += long.Parse((await DockerAsync("history", "--no-trunc", "--human=false", "--format", "{{.Size}}", image)).Split('\n')[0].Trim(),
            System.Globalization.CultureInfo.InvariantCulture);
        await DockerAsync("rmi", image);
    }
    var committed = clock.Elapsed;

    clock.Restart();
    var accepted = await admin.CreateSnapshotAsync(lab.Id.ToString(), new CreateSnapshotRequest("bench"), ct);
    await WaitAsync(admin, accepted.Task, ct);
    var snapshotTime = clock.Elapsed;
    var snapshot = await admin.GetSnapshotAsync(accepted.Snapshot.Id, ct);

    // Export to a file and import it back (into the same server, as another snapshot): time and the archive's size.
    var archive = Path.Combine(data, "bench" + ".ltbsnap.tar");
    clock.Restart();
    await using (var file = File.Create(archive))
    {
        await admin.ExportSnapshotAsync(snapshot.Id, file, ct);
    }
    var exportTime = clock.Elapsed;
    var archiveBytes = new FileInfo(archive).Length;
    clock.Restart();
    SnapshotDto imported;
    await using (var file = File.OpenRead(archive))
    {
        imported = await admin.ImportSnapshotAsync(file, "imported", ct);
    }
    var importTime = clock.Elapsed;
    await admin.DeleteSnapshotAsync(imported.Id, ct);
    File.Delete(archive);
    await WaitAsync(admin, (await admin.DestroyLabAsync(lab.Id.ToString(), ct)).Task, ct);
    labs.Clear();

    clock.Restart();
    var restored = await admin.RestoreSnapshotAsync(snapshot.Id, name + "r", reset: false, ct);
    labs.Add(restored.Lab.Id.ToString());
    await WaitAsync(admin, restored.Task, ct);
    var restoreTime = clock.Elapsed;

    Console.WriteLine($"frr01 (6 nodes), one run:");
    Console.WriteLine($"  deployment (baseline for a restore):        {deployed.TotalSeconds,6:0.0} s");
    Console.WriteLine($"  docker commit of the 6 containers (baseline): {committed.TotalSeconds,6:0.0} s, top layers {committedBytes / 1024.0:0} KiB");
    Console.WriteLine($"  LTB snapshot (task requested -> succeeded):  {snapshotTime.TotalSeconds,6:0.0} s, size {snapshot.SizeBytes / 1024.0:0} KiB");
    Console.WriteLine($"  LTB restore into a new lab (-> running):     {restoreTime.TotalSeconds,6:0.0} s");
    Console.WriteLine($"  export (archive written to a file):          {exportTime.TotalSeconds,6:0.0} s, archive {archiveBytes / 1024.0:0} KiB");
    Console.WriteLine($"  import (archive checked and stored):         {importTime.TotalSeconds,6:0.0} s");
    await admin.DeleteSnapshotAsync(snapshot.Id, ct);
    exit = 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"the benchmark failed: {e}\n--- ltb serve:\n{server.Log()}");
}
finally
{
    foreach (var l in labs)
    {
        try
        {
            await admin!.DestroyLabAsync(l, CancellationToken.None);
            await Task.Delay(TimeSpan.FromSeconds(5));
        }
        catch (LtbApiException)
        {
        }
    }
    admin?.Dispose();
    await server.StopAsync();
    Directory.Delete(data, recursive: true);
}
return exit;

static MultipartFormDataContent Frr01Upload(string repo, string name)
{
    var root = Path.Combine(repo, "..", "shared", "corpus", "containerlab", "frr01");
    var form = new MultipartFormDataContent { { new StringContent(name), "name" } };
    foreach (var file in Directory.GetFiles(root, "*", SearchOption.AllDirectories))
    {
        var content = new ByteArrayContent(File.ReadAllBytes(file));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var relative = Path.GetRelativePath(root, file);
        form.Add(content, relative.EndsWith(".clab.yml", StringComparison.Ordinal) ? "topology" : "files", relative);
    }
    return form;
}

static async Task<LabDto> RunAsync(LtbApiClient admin, MultipartFormDataContent form, CancellationToken ct)
{
    using (form)
    {
        var accepted = await admin.DeployLabAsync(form, ct);
        await WaitAsync(admin, accepted.Task, ct);
        return accepted.Lab;
    }
}

static async Task WaitAsync(LtbApiClient admin, LabTaskDto task, CancellationToken ct)
{
    for (; ; task = await admin.GetTaskAsync(task.Id, ct))
    {
        if (task.State == "succeeded")
        {
            return;
        }
        if (task.State == "failed")
        {
            throw new InvalidOperationException($"{task.Kind} task failed: {task.Error}");
        }
        await Task.Delay(250, ct);
    }
}

static async Task WaitForFrrAsync(LtbApiClient admin, string lab, string router, CancellationToken ct)
{
    var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
    while ((await admin.ExecInNodeAsync(lab, new ExecRequest(router, ["vtysh", "-c", "show ip ospf neighbor"]), ct)).ExitCode != 0)
    {
        if (DateTime.UtcNow > deadline)
        {
            throw new TimeoutException($"FRR on {router} did not answer within 3 minutes");
        }
        await Task.Delay(1000, ct);
    }
}

static async Task<string> DockerAsync(params string[] args)
{
    var start = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in args)
    {
        start.ArgumentList.Add(a);
    }
    start.Environment["DOCKER_API_VERSION"] = "1.41";
    using var process = Process.Start(start)!;
    var output = await process.StandardOutput.ReadToEndAsync();
    var error = await process.StandardError.ReadToEndAsync();
    await process.WaitForExitAsync();
    return process.ExitCode == 0 ? output : throw new InvalidOperationException($"docker {string.Join(' ', args)}: {error}");
}
