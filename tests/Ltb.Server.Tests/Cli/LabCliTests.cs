using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Ltb.Server.Api;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;

namespace Ltb.Server.Tests.Cli;

/// <summary>
/// The issue's "done when": frr01 from the containerlab corpus, unchanged, deployed with `./ltb lab deploy` against
/// `./ltb serve`; OSPF converges; PC1 pings PC2 and PC3; inspect's JSON has the documented shape; destroy leaves nothing.
/// </summary>
public sealed class LabCliTests(ServeProcess server) : IClassFixture<ServeProcess>
{
    private static readonly TimeSpan Convergence = TimeSpan.FromMinutes(4);
    /// <summary>What each router learns from OSPF in frr01: the other routers' PC subnets and the third transit subnet.</summary>
    private static readonly Dictionary<string, string[]> OspfPrefixes = new()
    {
        ["router1"] = ["192.168.3.0/24", "192.168.12.0/24", "192.168.13.0/24"],
        ["router2"] = ["192.168.2.0/24", "192.168.11.0/24", "192.168.13.0/24"],
        ["router3"] = ["192.168.1.0/24", "192.168.11.0/24", "192.168.12.0/24"],
    };

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
    public async Task Frr01_deploys_unchanged_converges_pings_and_destroys_without_leftovers()
    {
        LabTestSupport.RequireDocker();
        var login = await Ltb(ServeProcess.Password + "\n", "login", "--server", server.Url, "--user", "admin", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.Stderr);
        var lab = "frr" + Guid.NewGuid().ToString("N")[..6];
        var topology = Path.Combine(Repo.ContainerlabCorpus, "frr01", "frr01.clab.yml");
        var deploy = await Ltb(null, "lab", "deploy", "-t", topology, "--name", lab);
        Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout);
        Assert.Contains("6 links up", deploy.Stdout);
        Assert.EndsWith($"lab '{lab}' is running", deploy.Stdout.Trim());
        string? runtimeName = null;
        try
        {
            var inspect = await Ltb(null, "lab", "inspect", lab, "--format", "json");
            Assert.True(inspect.ExitCode == 0, inspect.Stderr);
            using var doc = JsonDocument.Parse(inspect.Stdout);
            var root = doc.RootElement;
            Assert.Equal(["name", "state", "nodes", "links", "mirrors"], root.EnumerateObject().Select(p => p.Name));
            Assert.Equal((lab, "running"), (root.GetProperty("name").GetString(), root.GetProperty("state").GetString()));
            var nodes = root.GetProperty("nodes").EnumerateArray().ToList();
            Assert.Equal(6, nodes.Count);
            Assert.All(nodes, n => Assert.Equal(["name", "kind", "image", "state", "mgmtIpv4", "mgmtIpv6", "interfaces", "ports"], n.EnumerateObject().Select(p => p.Name)));
            var pc1 = nodes.Single(n => n.GetProperty("name").GetString() == "PC1");
            Assert.Equal("wbitt/network-multitool:3.22.2", pc1.GetProperty("image").GetString());
            var eth1 = pc1.GetProperty("interfaces").EnumerateArray().Single(i => i.GetProperty("name").GetString() == "eth1");
            Assert.Equal(["name", "mac", "peer"], eth1.EnumerateObject().Select(p => p.Name));
            Assert.Equal("router1:eth3", eth1.GetProperty("peer").GetString());
            var links = root.GetProperty("links").EnumerateArray().ToList();
            Assert.Equal(6, links.Count);
            Assert.All(links, l => Assert.Equal(["a", "b", "state"], l.EnumerateObject().Select(p => p.Name)));
            Assert.Contains(links, l => l.GetProperty("a").GetString() == "router1:eth1" && l.GetProperty("b").GetString() == "router2:eth1");

            // Every router, not just router1: a ping needs the way back too.
            foreach (var (router, prefixes) in OspfPrefixes)
            {
                var routes = await WaitForOspfAsync(lab, router, prefixes);
                Assert.True(prefixes.All(routes.Contains), $"{router}'s OSPF routes after {Convergence}: {string.Join(", ", routes)}");
            }
            foreach (var target in new[] { "192.168.12.2", "192.168.13.2" })
            {
                // A route selected in the RIB reaches the kernel a moment later: a few tries, as a person would.
                var ping = await Ltb(null, "lab", "exec", lab, "PC1", "--", "ping", "-c", "2", "-W", "2", target);
                for (var attempt = 1; attempt < 5 && ping.ExitCode != 0; attempt++)
                {
                    await Task.Delay(TimeSpan.FromSeconds(2));
                    ping = await Ltb(null, "lab", "exec", lab, "PC1", "--", "ping", "-c", "2", "-W", "2", target);
                }
                Assert.True(ping.ExitCode == 0, $"PC1 -> {target}: {ping.Stdout}{ping.Stderr}");
            }
            var missing = await Ltb(null, "lab", "exec", lab, "PC9", "--", "true");
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains($"no such node 'PC9' in lab '{lab}'", missing.Stderr);

            // Piped (not a terminal): plain columns, a header and one line per lab however long its cells are.
            var list = await Ltb(null, "lab", "list");
            Assert.True(list.ExitCode == 0, list.Stderr);
            using var listed = JsonDocument.Parse((await Ltb(null, "lab", "list", "-o", "json")).Stdout);
            var count = listed.RootElement.GetArrayLength();
            var rows = list.Stdout.TrimEnd('\n').Split('\n');
            Assert.Equal(count + 1, rows.Length);
            Assert.Matches("^NAME +STATE +OWNER +NODES +HOST +ERROR$", rows[0]);
            Assert.Matches($"^{lab} +running +admin +6 +", rows.Single(r => r.StartsWith(lab + " ", StringComparison.Ordinal)));
            // The same rows without the header (aligned on their own widths: a header wider than the cells no longer counts).
            static string Words(string row) => string.Join(' ', row.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal(rows.Skip(1).Select(Words), (await Ltb(null, "lab", "list", "--no-headers")).Stdout.TrimEnd('\n').Split('\n').Select(Words));
            runtimeName = await RuntimeNameAsync(lab);
        }
        finally
        {
            var destroy = await Ltb(null, "lab", "destroy", lab);
            Assert.True(destroy.ExitCode == 0, destroy.Stderr + destroy.Stdout);
        }
        Assert.NotNull(runtimeName);
        Assert.Equal(0, await LabTestSupport.LeftoversAsync(runtimeName));
    }

    [Fact]
    public async Task Deploy_and_destroy_follow_the_live_events_and_lab_events_prints_the_state_changes()
    {
        LabTestSupport.RequireDocker();
        var login = await Ltb(ServeProcess.Password + "\n", "login", "--server", server.Url, "--user", "admin", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.Stderr);
        var lab = "sse" + Guid.NewGuid().ToString("N")[..6];
        var folder = Directory.CreateTempSubdirectory("ltb-events-");
        try
        {
            var topology = Path.Combine(folder.FullName, "lab.clab.yml");
            await File.WriteAllTextAsync(topology, LabTestSupport.TinyLab(lab));
            var deploy = await Ltb(null, "lab", "deploy", "-t", topology, "--name", lab);
            Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout);
            // The task's log lines as they came (the attempt line is the task's own, the rest the host's progress).
            Assert.Contains("attempt 1 of", deploy.Stdout);
            Assert.EndsWith($"lab '{lab}' is running", deploy.Stdout.Trim());
            await using var events = LtbProcess.Start(["lab", "events", lab], Env(), "ltb lab events");
            await events.WaitForLineAsync(l => l.EndsWith($" {lab} lab running", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            var destroy = await Ltb(null, "lab", "destroy", lab);
            Assert.True(destroy.ExitCode == 0, destroy.Stderr + destroy.Stdout);
            Assert.EndsWith($"lab '{lab}' destroyed", destroy.Stdout.Trim());
            await events.WaitForLineAsync(l => l.EndsWith($" {lab} lab destroying", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            await events.WaitForLineAsync(l => l.EndsWith($" {lab} lab removed", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            Assert.Contains(events.Lines, l => l.EndsWith(" task removal succeeded", StringComparison.Ordinal));
            await events.KillAsync();
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task An_env_file_beside_the_topology_is_uploaded_and_its_variables_reach_the_node()
    {
        LabTestSupport.RequireDocker();
        var login = await Ltb(ServeProcess.Password + "\n", "login", "--server", server.Url, "--user", "admin", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.Stderr);
        var lab = "envf" + Guid.NewGuid().ToString("N")[..6];
        var folder = Directory.CreateTempSubdirectory("ltb-envfile-");
        try
        {
            Directory.CreateDirectory(Path.Combine(folder.FullName, "vars"));
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "vars", "node.env"), "# set by the env-file\nLTB_FROM_ENV_FILE=uploaded-42\n");
            var topology = Path.Combine(folder.FullName, "lab.clab.yml");
            await File.WriteAllTextAsync(topology, """
                name: envfiles
                topology:
                  nodes:
                    a:
                      kind: linux
                      image: ltb/tiny:latest
                      env-files: [vars/node.env]
                """);
            var deploy = await Ltb(null, "lab", "deploy", "-t", topology, "--name", lab);
            Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout);
            try
            {
                var env = await Ltb(null, "lab", "exec", lab, "a", "--", "env");
                Assert.True(env.ExitCode == 0, env.Stderr);
                Assert.Contains("LTB_FROM_ENV_FILE=uploaded-42", env.Stdout.Split('\n'));
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

    [Fact]
    public async Task A_published_port_shows_in_inspect_table_and_json_and_a_connection_to_it_reaches_the_node()
    {
        LabTestSupport.RequireDocker();
        var login = await Ltb(ServeProcess.Password + "\n", "login", "--server", server.Url, "--user", "admin", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.Stderr);
        var lab = "port" + Guid.NewGuid().ToString("N")[..6];
        var port = System.Security.Cryptography.RandomNumberGenerator.GetInt32(40000, 59999);
        var folder = Directory.CreateTempSubdirectory("ltb-ports-");
        try
        {
            var topology = Path.Combine(folder.FullName, "lab.clab.yml");
            // An administrator's port written with its address (as written); one without would be on every address.
            await File.WriteAllTextAsync(topology, $$"""
                name: ports
                topology:
                  nodes:
                    web:
                      kind: linux
                      image: ltb/tiny:latest
                      cmd: sh -c 'while :; do nc -l -p 8080 -e echo hello-ltb; done'
                      ports: ["127.0.0.1:{{port}}:8080"]
                """);
            var deploy = await Ltb(null, "lab", "deploy", "-t", topology, "--name", lab);
            Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout);
            try
            {
                var json = await Ltb(null, "lab", "inspect", lab, "--format", "json");
                Assert.True(json.ExitCode == 0, json.Stderr);
                using var doc = JsonDocument.Parse(json.Stdout);
                var published = doc.RootElement.GetProperty("nodes")[0].GetProperty("ports").EnumerateArray().Single();
                Assert.Equal(["hostIp", "hostPort", "nodePort", "protocol"], published.EnumerateObject().Select(p => p.Name));
                Assert.Equal(("127.0.0.1", port, 8080, "tcp"), (published.GetProperty("hostIp").GetString(), published.GetProperty("hostPort").GetInt32(),
                    published.GetProperty("nodePort").GetInt32(), published.GetProperty("protocol").GetString()));
                var table = await Ltb(null, "lab", "inspect", lab);
                Assert.True(table.ExitCode == 0, table.Stderr);
                var row = table.Stdout.Split('\n').SingleOrDefault(r => r.Contains($" {port} ", StringComparison.Ordinal));
                Assert.True(row is not null, $"no row for host port {port} in:\n{table.Stdout}");
                // Piped: plain space-aligned columns (a terminal would get a framed table).
                Assert.Equal(["web", "127.0.0.1", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "8080", "tcp"],
                    row.Split(' ', StringSplitOptions.RemoveEmptyEntries));

                // Where inspect says: the listener in the node answers (it may still be starting).
                string? answer = null;
                for (var attempt = 0; attempt < 20 && answer != "hello-ltb"; attempt++)
                {
                    try
                    {
                        using var client = new System.Net.Sockets.TcpClient();
                        await client.ConnectAsync(published.GetProperty("hostIp").GetString()!, port);
                        using var reader = new StreamReader(client.GetStream());
                        answer = await reader.ReadLineAsync();
                    }
                    catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(1));
                    }
                }
                Assert.Equal("hello-ltb", answer);
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

    private async Task<HashSet<string>> WaitForOspfAsync(string lab, string router, string[] prefixes)
    {
        var deadline = DateTime.UtcNow + Convergence;
        var routes = new HashSet<string>(StringComparer.Ordinal);
        while (DateTime.UtcNow < deadline)
        {
            var r = await Ltb(null, "lab", "exec", lab, router, "--", "vtysh", "-c", "show ip route ospf json");
            if (r.ExitCode == 0 && r.Stdout.TrimStart().StartsWith('{'))
            {
                using var doc = JsonDocument.Parse(r.Stdout);
                routes = doc.RootElement.EnumerateObject()
                    .Where(p => p.Value.EnumerateArray().Any(x => x.TryGetProperty("selected", out var s) && s.GetBoolean()))
                    .Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
                if (prefixes.All(routes.Contains))
                {
                    return routes;
                }
            }
            await Task.Delay(TimeSpan.FromSeconds(3));
        }
        return routes;
    }

    /// <summary>The name the lab has on the host (containers are labelled with it), from the API through the CLI's token.</summary>
    private async Task<string> RuntimeNameAsync(string lab)
    {
        var credentials = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(server.Home, ".config", "ltb", "credentials.json")));
        using var client = new HttpClient { BaseAddress = new Uri(server.Url) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", credentials.RootElement.GetProperty("token").GetString());
        using var doc = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/labs/{lab}"));
        return doc.RootElement.GetProperty("runtimeName").GetString()!;
    }

    /// <summary>An admin's API client and a one-node lab of ltb/tiny deployed through it; disposing ends both.</summary>
    private sealed record TinyLab(HttpClient Admin, ServerLab Lab, string Name) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Lab.DisposeAsync();
            Admin.Dispose();
        }
    }

    /// <summary>
    /// The CLI's and the API's admin sign-ins, once per server: the server limits sign-ins per address and minute, and
    /// this class's tests start at once.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<string>>> AdminTokens = new();

    private Task<string> AdminTokenAsync() => AdminTokens.GetOrAdd(server.Url, _ => new Lazy<Task<string>>(async () =>
    {
        var login = await Ltb(ServeProcess.Password + "\n", "login", "--server", server.Url, "--user", "admin", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.Stderr);
        using var anonymous = new HttpClient { BaseAddress = new Uri(server.Url) };
        var token = await Http.ReadAsync<LoginResponse>(await anonymous.PostAsJsonAsync("/api/v1/auth/login", new LoginRequest("admin", ServeProcess.Password)), 200);
        return token.Token;
    })).Value;

    /// <summary>Signs the CLI in as admin (once) and deploys a <see cref="TinyLab"/> through the API.</summary>
    private async Task<TinyLab> TinyLabAsync(string prefix, Func<string, string>? topology = null)
    {
        var admin = new HttpClient { BaseAddress = new Uri(server.Url) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await AdminTokenAsync());
        var name = prefix + Guid.NewGuid().ToString("N")[..6];
        var lab = await ServerLab.RunAsync(admin, topology?.Invoke(name) ?? $$"""
            name: {{name}}
            topology:
              nodes:
                a: {kind: linux, image: "ltb/tiny:latest"}
            """);
        return new TinyLab(admin, lab, name);
    }

    [Fact]
    public async Task Exec_i_pipes_a_few_MiB_of_stdin_to_the_command_and_exits_with_its_exit_code()
    {
        LabTestSupport.RequireDocker();
        await using var tiny = await TinyLabAsync("xi");
        var (admin, lab, name) = (tiny.Admin, tiny.Lab, tiny.Name);

        // 4 MiB of text (the test's pipe writes text), through the WebSocket in many messages, hashed in the node.
        var input = Convert.ToHexString(RandomNumberGenerator.GetBytes(2 << 20));
        var sum = await Ltb(input, "lab", "exec", "-i", name, "a", "--", "sha256sum");
        Assert.True(sum.ExitCode == 0, sum.Stderr);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(input))) + "  -", sum.Stdout.Trim());
        var exit = await Ltb("x", "lab", "exec", "-i", name, "a", "--", "sh", "-c", "cat > /dev/null; echo gone >&2; exit 5");
        Assert.Equal(5, exit.ExitCode);
        Assert.Equal("gone\n", exit.Stderr);

        await lab.DestroyAsync();
        await lab.AssertNoLeftoversAsync();
    }

    [Fact]
    public async Task Console_gives_a_prompt_in_a_terminal_and_ctrl_close_bracket_leaves_it_open()
    {
        LabTestSupport.RequireDocker();
        await using var tiny = await TinyLabAsync("xc");
        var (admin, lab, name) = (tiny.Admin, tiny.Lab, tiny.Name);

        // `script` gives `ltb console` a terminal; the keys come late enough for the prompt, Ctrl-] (octal 035) last.
        var keys = "(sleep 2; printf 'stty size; echo hi-$((2+3))\\n'; sleep 3; printf '\\035')";
        var run = await HostCommand.RunAsync("sh", ["-c", $"{keys} | script -qfec 'stty rows 27 cols 91; {Path.Combine(Repo.Root, "ltb")} console {name} a' /dev/null"],
            TimeSpan.FromMinutes(3), Env());
        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        Assert.Contains("27 91", run.Stdout);
        Assert.Contains("hi-5", run.Stdout);
        Assert.Contains("left the console", run.Stdout);
        // Left, not ended: the session waits for a reattach.
        var sessions = await Http.ReadAsync<List<ConsoleSessionDto>>(await admin.GetAsync($"/api/v1/labs/{lab.Id}/nodes/a/console/sessions"), 200);
        Assert.False(Assert.Single(sessions).Attached);

        await lab.DestroyAsync();
    }

    [Fact]
    public async Task Capture_prints_a_line_per_packet_and_writes_pcapng_that_tshark_reads()
    {
        LabTestSupport.RequireDocker();
        Prerequisite.Require(HostCommand.Exists("tshark"), "tshark");
        await using var tiny = await TinyLabAsync("cp", n => LabTestSupport.TinyLab(n));
        var (admin, lab, name) = (tiny.Admin, tiny.Lab, tiny.Name);
        // Long enough for three captures on a loaded machine; stopped below once they are done.
        var pinging = admin.PostAsJsonAsync($"/api/v1/labs/{lab.Id}/exec",
            new ExecRequest("a", ["ping", "-c", "2500", "-i", "0.2", "10.0.0.2"], TimeoutSeconds: 600), TestContext.Current.CancellationToken);

        // Both ends of the link in one stream: each echo is seen on a:eth1 and on b:eth1.
        var summary = await Ltb(null, "capture", name, "a:eth1", "b:eth1", "-f", "icmp", "-c", "6");
        Assert.True(summary.ExitCode == 0, summary.Stderr);
        var lines = summary.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, lines.Length);
        Assert.All(lines, l => Assert.Matches($@"^\d\d:\d\d:\d\d\.\d{{6}} {name}/[ab]:eth1 length 98$", l));
        Assert.Contains(lines, l => l.EndsWith($"{name}/a:eth1 length 98", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith($"{name}/b:eth1 length 98", StringComparison.Ordinal));
        Assert.Contains($"{name}/a:eth1: ltb: ", summary.Stderr);
        Assert.Contains($"{name}/b:eth1: ltb: ", summary.Stderr);
        Assert.Contains("0 dropped because it read too slowly", summary.Stderr);
        Assert.Contains("ended: the packet count (6) was reached", summary.Stderr);

        var file = Path.Combine(Path.GetTempPath(), $"ltb-{name}.pcapng");
        try
        {
            var written = await Ltb(null, "capture", name, "a:eth1", "-f", "icmp", "-c", "2", "-w", file);
            Assert.True(written.ExitCode == 0, written.Stderr);
            var read = await HostCommand.RunAsync("tshark", ["-r", file, "-T", "fields", "-e", "frame.interface_name", "-e", "icmp.type"]);
            Assert.True(read.ExitCode == 0, read.Stderr);
            Assert.Equal(2, read.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith($"{name}/a:eth1\t", StringComparison.Ordinal)));
        }
        finally
        {
            File.Delete(file);
        }
        // As Wireshark takes it (`-w - | wireshark -k -i -`): dumpcap's pipe reader, live, not a file.
        var piped = await HostCommand.RunAsync("sh", ["-c",
            $"{Path.Combine(Repo.Root, "ltb")} capture {name} a:eth1 -f icmp -c 2 -w - | tshark -i - -T fields -e frame.interface_name"],
            TimeSpan.FromMinutes(2), Env());
        Assert.True(piped.ExitCode == 0, piped.Stderr);
        Assert.Equal([$"{name}/a:eth1", $"{name}/a:eth1"], piped.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        (await admin.PostAsJsonAsync($"/api/v1/labs/{lab.Id}/exec", new ExecRequest("a", ["killall", "ping"]),
            TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();
        await pinging;
        await lab.DestroyAsync();
    }

    [Fact]
    public async Task Extcap_answers_Wireshark_and_captures_into_its_fifo()
    {
        LabTestSupport.RequireDocker();
        Prerequisite.Require(HostCommand.Exists("tshark"), "tshark");
        await using var tiny = await TinyLabAsync("xe", n => LabTestSupport.TinyLab(n));
        var (admin, lab, name) = (tiny.Admin, tiny.Lab, tiny.Name);
        var iface = $"ltb/{lab.Id}/a/eth1";

        // As Wireshark starts a program of its extcap folder: its options first, the stored login of `ltb login`.
        var folder = Directory.CreateTempSubdirectory("ltb-extcap-");
        try
        {
            var install = await Ltb(null, "extcap", "install", folder.FullName);
            Assert.True(install.ExitCode == 0, install.Stderr);
            var listed = await HostCommand.RunAsync(Path.Combine(folder.FullName, "ltb-extcap"), ["--extcap-interfaces", "--extcap-version=4.0"],
                TimeSpan.FromMinutes(2), Env());
            Assert.True(listed.ExitCode == 0, listed.Stderr);
            Assert.StartsWith("extcap {version=1.0}", listed.Stdout, StringComparison.Ordinal);
            Assert.Contains($"interface {{value={iface}}}{{display=LTB {name} a:eth1}}", listed.Stdout);
            Assert.Contains($"interface {{value=ltb/{lab.Id}/b/eth1}}", listed.Stdout);
            var dlts = await Ltb(null, "--extcap-dlts", "--extcap-interface", iface);
            Assert.Equal("dlt {number=1}{name=EN10MB}{display=Ethernet}", dlts.Stdout.Trim());
            var config = await Ltb(null, "--extcap-config", "--extcap-interface", iface);
            Assert.StartsWith("arg {number=0}{call=--seconds}", config.Stdout, StringComparison.Ordinal);

            // The capture into a fifo Wireshark reads (here cat), with the capture filter Wireshark passes, while a pings b.
            var fifo = Path.Combine(folder.FullName, "fifo");
            var file = Path.Combine(folder.FullName, "capture.pcapng");
            Assert.Equal(0, (await HostCommand.RunAsync("mkfifo", fifo)).ExitCode);
            var pinging = admin.PostAsJsonAsync($"/api/v1/labs/{lab.Id}/exec",
                new ExecRequest("a", ["ping", "-c", "25", "-i", "0.2", "10.0.0.2"]), TestContext.Current.CancellationToken);
            var capture = await HostCommand.RunAsync("sh", ["-c",
                $"cat {fifo} > {file} & {Path.Combine(Repo.Root, "ltb")} --capture --extcap-interface {iface} --fifo {fifo} " +
                "--extcap-capture-filter icmp --seconds 4 --debug; wait"], TimeSpan.FromMinutes(2), Env());
            Assert.True(capture.ExitCode == 0, capture.Stderr);
            await pinging;
            var read = await HostCommand.RunAsync("tshark", ["-r", file, "-T", "fields", "-e", "frame.interface_name", "-e", "ip.src", "-e", "icmp.type"]);
            Assert.True(read.ExitCode == 0, read.Stderr);
            var rows = read.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains($"{name}/a:eth1\t10.0.0.1\t8", rows);
            Assert.Contains($"{name}/a:eth1\t10.0.0.2\t0", rows);
            Assert.All(rows, r => Assert.Contains("\t", r));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
        await lab.DestroyAsync();
    }
}
