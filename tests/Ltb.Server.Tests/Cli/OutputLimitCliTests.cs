using System.Diagnostics;
using System.Globalization;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;

namespace Ltb.Server.Tests.Cli;

/// <summary>
/// Issue #10, "Output": `ltb lab exec LAB NODE -- yes` and a node that floods its output, through a real `ltb serve`:
/// the answer stops at the limit (1 MiB by default) with a note on stderr, within seconds, and the server's memory stays
/// bounded (before the fix one `exec yes` grew the server to 4.3 GB and ended in HTTP 500 after 43 s).
/// </summary>
public sealed class OutputLimitCliTests(ServeProcess server) : IClassFixture<ServeProcess>
{
    private const int Limit = 1 << 20;
    /// <summary>What the server may grow by while it answers (the 1 MiB answer, its JSON, buffers, the GC's slack).</summary>
    private const long MaxGrowthBytes = 150L << 20;

    private Dictionary<string, string> Env()
    {
        var env = ServeProcess.HomeEnvironment(server.Home);
        env["LTB_SERVER"] = "";
        env["LTB_TOKEN"] = "";
        return env;
    }

    private Task<HostCommand.Result> Ltb(string? stdin, params string[] args) =>
        HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), args, TimeSpan.FromMinutes(6), Env(), stdin: stdin);

    [Fact]
    public async Task Exec_yes_and_a_flooded_log_answer_the_limit_with_a_note_while_the_server_stays_small()
    {
        LabTestSupport.RequireDocker();
        var login = await Ltb(ServeProcess.Password + "\n", "login", "--server", server.Url, "--user", "admin", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.Stderr);
        var lab = "out" + Guid.NewGuid().ToString("N")[..6];
        var folder = Directory.CreateTempSubdirectory("ltb-output-");
        try
        {
            var topology = Path.Combine(folder.FullName, "lab.clab.yml");
            // b writes 3 MB to its output at the start, then sleeps: its log is three times the limit.
            await File.WriteAllTextAsync(topology, """
                name: output
                topology:
                  nodes:
                    a: {kind: linux, image: "ltb/tiny:latest"}
                    b: {kind: linux, image: "ltb/tiny:latest", cmd: "sh -c 'yes flood | head -c 3000000; exec sleep 3600'"}
                """);
            var deploy = await Ltb(null, "lab", "deploy", "-t", topology, "--name", lab);
            Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout);
            try
            {
                var before = Rss(server.Pid);
                var clock = Stopwatch.StartNew();
                var yes = await Ltb(null, "lab", "exec", lab, "a", "--", "yes");
                clock.Stop();
                var after = Rss(server.Pid);
                TestContext.Current.TestOutputHelper?.WriteLine(
                    $"exec yes: {clock.Elapsed.TotalSeconds:0.0} s, server RSS {before >> 20} MiB -> {after >> 20} MiB");
                Assert.Equal(Limit, yes.Stdout.Length);
                Assert.All(yes.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.Equal("y", l));
                Assert.Contains($"ltb: output cut at {Limit} bytes, the limit per answer (OutputLimitBytes of the tenant policy)", yes.Stderr);
                Assert.Equal(137, yes.ExitCode);
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"exec yes took {clock.Elapsed}");
                Assert.True(after - before < MaxGrowthBytes, $"the server grew from {before >> 20} MiB to {after >> 20} MiB");
                // The cut command is gone: `yes` does not keep running in the node.
                var ps = await Ltb(null, "lab", "exec", lab, "a", "--", "ps");
                Assert.True(ps.ExitCode == 0, ps.Stderr);
                Assert.DoesNotContain(ps.Stdout.Split('\n'), l => l.TrimEnd().EndsWith(" yes", StringComparison.Ordinal));

                var logs = await WaitForLogsAsync(lab, "b");
                Assert.Equal(Limit, logs.Stdout.Length);
                Assert.StartsWith("flood\nflood\n", logs.Stdout);
                Assert.Contains($"ltb: output cut at {Limit} bytes", logs.Stderr);
                Assert.True(Rss(server.Pid) - before < MaxGrowthBytes, $"the server grew to {Rss(server.Pid) >> 20} MiB");
                // Fewer lines than the limit: the whole answer, no note.
                var tail = await Ltb(null, "lab", "logs", lab, "b", "--tail", "3");
                Assert.Equal(("flood\nflood\nflood\n", ""), (tail.Stdout, tail.Stderr));
            }
            finally
            {
                var destroy = await Ltb(null, "lab", "destroy", lab);
                Assert.True(destroy.ExitCode == 0, destroy.Stderr + destroy.Stdout);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>The node's output once it holds more than the limit (the node writes it right after it starts).</summary>
    private async Task<HostCommand.Result> WaitForLogsAsync(string lab, string node)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var logs = await Ltb(null, "lab", "logs", lab, node);
            Assert.True(logs.ExitCode == 0, logs.Stderr);
            if (logs.Stdout.Length >= Limit || DateTime.UtcNow > deadline)
            {
                return logs;
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Resident memory of a process (VmRSS in /proc/PID/status).</summary>
    public static long Rss(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
