using System.Diagnostics;
using Ltb.Testing;

namespace Ltb.Cli.Tests.Deploy;

/// <summary>
/// The published `ltb` runs on a machine without the .NET SDK or runtime: the tests run it with an environment that
/// holds no dotnet (PATH without it, no DOTNET_ROOT), as a fresh server would.
/// </summary>
public sealed class PublishTests(PublishedLtb published) : IClassFixture<PublishedLtb>
{
    /// <summary>
    /// A command line that runs in a mount namespace where the installed .NET (/usr/share/dotnet) is an empty folder, with
    /// `env -i`: only a PATH and a HOME of the test's (no DOTNET_ROOT). The published folder must bring all it needs.
    /// </summary>
    private static string[] WithoutDotnet(string home) =>
        ["--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs none /usr/share/dotnet && exec env -i \"$@\"", "sh",
         "PATH=/usr/sbin:/usr/bin:/sbin:/bin", $"HOME={home}"];

    [Fact]
    public async Task The_folder_holds_the_runtime_and_no_sdk_is_needed_for_the_version()
    {
        Assert.True(File.Exists(Path.Combine(published.Folder, "libcoreclr.so")), "the .NET runtime is inside the folder");
        Prerequisite.RequireRoot();
        var sdk = await HostCommand.RunAsync("unshare", [.. WithoutDotnet("/tmp"), "dotnet", "--info"]);
        Assert.True(sdk.ExitCode != 0, $"the test's environment must have no usable dotnet: {sdk.Stdout}");
        var head = (await HostCommand.RunAsync("git", "rev-parse", "HEAD")).EnsureSuccess("git rev-parse").Stdout.Trim();
        var version = (await HostCommand.RunAsync("unshare", [.. WithoutDotnet("/tmp"), published.Ltb, "--version"])).EnsureSuccess("ltb --version");
        // The version of Directory.Build.props and the commit the folder was built from.
        Assert.Matches($@"^\d+\.\d+\.\d+\+{head}$", version.Stdout.Trim());
    }

    [Fact]
    public async Task The_published_server_starts_answers_readyz_and_serves_the_api_reference()
    {
        Prerequisite.RequireRoot();
        var home = Directory.CreateTempSubdirectory("ltb-publish-home-").FullName;
        var port = Ports.Free();
        var psi = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])[.. WithoutDotnet(home), "LTB_ADMIN_PASSWORD=published-Secret-1", published.Ltb, "serve",
                     "--listen", $"http://127.0.0.1:{port}", "--data", Path.Combine(home, "data"), "--ssh-port", "off"])
        {
            psi.ArgumentList.Add(a);
        }
        using var server = Process.Start(psi)!;
        var stdout = server.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = server.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
            var ready = false;
            for (var i = 0; i < 120 && !ready && !server.HasExited; i++)
            {
                try
                {
                    ready = (await http.GetAsync("/healthz", Ct)).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(500, Ct);
                }
            }
            Assert.True(ready, $"the published server did not answer /healthz: {(server.HasExited ? await stderr : "")}");
            var readyz = await http.GetStringAsync("/readyz", Ct);
            Assert.Contains("the database answers", readyz);
            // The web assets (the API reference's page and script) ship inside the folder.
            Assert.Contains("LTB API", await http.GetStringAsync("/docs/", Ct));
            var script = await http.GetAsync("/docs/scalar.js", Ct);
            Assert.True(script.IsSuccessStatusCode && (await script.Content.ReadAsByteArrayAsync(Ct)).Length > 100_000, "the API reference's script is served");
            var login = await http.PostAsync("/api/v1/auth/login", JsonContent("""{"userName":"admin","password":"published-Secret-1"}"""), Ct);
            Assert.True(login.IsSuccessStatusCode, $"sign-in on the published server: {(int)login.StatusCode} {await login.Content.ReadAsStringAsync(Ct)}");
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }
            await server.WaitForExitAsync(CancellationToken.None);
            _ = await stdout;
            Directory.Delete(home, recursive: true);
        }
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StringContent JsonContent(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}
