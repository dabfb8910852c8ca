using System.Net.Http.Headers;
using System.Net.Http.Json;
using Ltb.Server.Tests.Infrastructure;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;

namespace Ltb.Server.Tests.SshGateway;

/// <summary>
/// Issue #12, the SSH gateway with the real OpenSSH client: a student's command on frr01's router1 (its routing table,
/// its exit code), an interactive shell through a PTY, scp and sftp to a node with an sftp-server, `ssh -J` to a node's
/// own sshd (and a forwarding anywhere else refused), ECDSA and RSA keys, and who is refused (another student, a key
/// nobody registered); the audit log shows each of it. One frr01 and one sshhost lab for the whole story.
/// </summary>
public sealed class SshGatewayTests(GatewayServer server) : IClassFixture<GatewayServer>
{
    [Fact]
    public async Task A_student_reaches_their_nodes_through_the_gateway_and_nothing_else()
    {
        server.RequireGateway();
        var ct = TestContext.Current.CancellationToken;
        var student = await server.CreateUserAsync("gs");
        var other = await server.CreateUserAsync("go");
        using var owner = await server.LoginAsync(student.UserName, ServerFixture.UserPassword);
        using var stranger = await server.LoginAsync(other.UserName, ServerFixture.UserPassword);
        var (key, pub) = await server.NewKeyAsync("ed25519");
        var (otherKey, otherPub) = await server.NewKeyAsync("ed25519");
        await AddKeyAsync(owner, pub);
        await AddKeyAsync(stranger, otherPub);

        await using var frr = await ServerLab.RunAsync(owner, Frr01Upload());
        await using var jump = await ServerLab.RunAsync(owner, $$"""
            name: {{ServerFixture.Unique("jump")}}
            topology:
              nodes:
                h1: {kind: linux, image: "ltb/sshhost:latest"}
            """);

        // A command: its output and exit code come back. OSPF may still be converging: the connected routes are there.
        var route = await server.SshAsync(key, null, $"{frr.Name}/router1", "--", "vtysh -c \"show ip route\"");
        Assert.True(route.ExitCode == 0, route.Stderr);
        Assert.Contains("C>* 192.168.1.0/24 is directly connected, eth1", route.Stdout);
        Assert.Equal(3, (await server.SshAsync(key, null, $"{frr.Name}/router1", "--", "exit 3")).ExitCode);
        var piped = await server.SshAsync(key, "echo piped-$((6*7))\n", $"{frr.Name}/PC1");
        Assert.Equal("piped-42", piped.Stdout.Trim());

        // An interactive shell with a terminal of the client's size (script(1) gives ssh a PTY).
        var shell = await InteractiveAsync(key, $"{jump.Name}/h1", "stty size; echo marker-$((6*7))\nexit\n");
        Assert.Contains("33 101", shell);
        Assert.Contains("marker-42", shell);

        // scp (SFTP protocol and the old one) and sftp, to the node named in LTB_TARGET.
        var local = Path.Combine(server.Folder, "hello.txt");
        await File.WriteAllTextAsync(local, "hello through the gateway\n", ct);
        var target = $"LTB_TARGET={jump.Name}/h1";
        var port = server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var scp = await HostCommand.RunAsync("scp", [.. server.Options(key), "-P", port, "-o", $"SetEnv={target}", local, "ltb@127.0.0.1:/tmp/hello.txt"]);
        Assert.True(scp.ExitCode == 0, scp.Stderr);
        var legacy = await HostCommand.RunAsync("scp", [.. server.Options(key), "-O", "-P", port, "-o", $"SetEnv={target}", "ltb@127.0.0.1:/tmp/hello.txt", local + ".back"]);
        Assert.True(legacy.ExitCode == 0, legacy.Stderr);
        Assert.Equal("hello through the gateway\n", await File.ReadAllTextAsync(local + ".back", ct));
        var sftp = await HostCommand.RunAsync("sftp", [.. server.Options(key), "-P", port, "-o", $"SetEnv={target}", "-b", "-", "ltb@127.0.0.1"],
            stdin: "ls -l /tmp/hello.txt\n");
        Assert.True(sftp.ExitCode == 0, sftp.Stderr);
        Assert.Contains("/tmp/hello.txt", sftp.Stdout);

        // ssh -J to the node's own sshd (the student's key in its authorized_keys), and to anywhere else: refused.
        var authorize = await server.SshAsync(key, pub + "\n", $"{jump.Name}/h1", "--", "mkdir -p /root/.ssh && cat >> /root/.ssh/authorized_keys");
        Assert.True(authorize.ExitCode == 0, authorize.Stderr);
        var address = (await owner.GetFromJsonAsync<LabAccessDto>($"/api/v1/labs/{jump.Id}/access", ct))!.Nodes.Single().MgmtIpv4!;
        var config = await server.ClientConfigAsync(key);
        var jumped = await HostCommand.RunAsync("ssh", ["-F", config, "-J", "gw", $"root@{address}", "hostname"]);
        Assert.True(jumped.ExitCode == 0, jumped.Stderr);
        Assert.Equal("h1", jumped.Stdout.Trim());
        var elsewhere = await HostCommand.RunAsync("ssh", ["-F", config, "-J", "gw", "-p", server.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "root@127.0.0.1", "true"]);
        Assert.Equal(255, elsewhere.ExitCode);
        Assert.Contains("administratively prohibited", elsewhere.Stderr);

        // The access information: the command to type, and an ~/.ssh/config whose entries work as they are.
        var access = (await owner.GetFromJsonAsync<LabAccessDto>($"/api/v1/labs/{jump.Id}/access", ct))!;
        Assert.Equal($"ssh -t -p {server.Port} ltb@127.0.0.1 {jump.Name}/h1", access.Nodes.Single().SshCommand);
        var snippet = await server.ClientConfigAsync(key, access.SshConfig);
        foreach (var entry in new[] { $"{jump.Name}-h1", $"{jump.Name}-h1-sshd" })
        {
            var through = await HostCommand.RunAsync("ssh", ["-F", snippet, entry, "hostname"]);
            Assert.True(through.ExitCode == 0 && through.Stdout.Trim() == "h1", $"{entry}: {through.Stderr}\n{access.SshConfig}");
        }

        // ECDSA and RSA keys work as well.
        foreach (var type in new[] { "ecdsa", "rsa" })
        {
            var (typed, typedPub) = await server.NewKeyAsync(type);
            await AddKeyAsync(owner, typedPub);
            var ok = await server.SshAsync(typed, null, $"{frr.Name}/router1", "--", "echo", type);
            Assert.True(ok.ExitCode == 0 && ok.Stdout.Trim() == type, $"{type}: {ok.Stderr}");
        }

        // Another student's key logs in, but their LTB rights hold: the lab is not theirs. A key nobody registered: no login.
        var refused = await server.SshAsync(otherKey, null, $"{frr.Name}/router1", "--", "hostname");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.DoesNotContain("router1", refused.Stdout);
        Assert.Contains("lab", refused.Stderr);
        var (unknown, _) = await server.NewKeyAsync("ed25519");
        var nobody = await server.SshAsync(unknown, null, $"{frr.Name}/router1", "--", "hostname");
        Assert.Equal(255, nobody.ExitCode);
        Assert.Contains("Permission denied (publickey)", nobody.Stderr);

        // The audit log: logins, the commands as the student's, the forwarding and its refusal, the refused key (recorded
        // when that connection's sshd has ended, which can be just after the client has).
        List<AuditEntryDto> entries = [];
        await LabTestSupport.WaitForAsync(async () => (entries = await AuditAsync()).Any(e => e.Action == "ssh.login-refused"),
            "the refused key's audit entry");
        Assert.Contains(entries, e => e.Action == "ssh.login" && e.ActorName == student.UserName);
        Assert.Contains(entries, e => e.Action == "ssh.logout" && e.ActorName == student.UserName);
        Assert.Contains(entries, e => e.Action == "lab.exec" && e.ActorName == student.UserName
            && e.Detail!.StartsWith("via the SSH gateway", StringComparison.Ordinal) && e.Detail.Contains("show ip route", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Action == "lab.console" && e.ActorName == student.UserName && e.Detail!.Contains("/h1", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Action == "ssh.forward" && e.ActorName == student.UserName && e.Detail!.Contains($"to {address}:22", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Action == "ssh.forward-refused" && e.ActorName == student.UserName && e.Detail!.Contains("127.0.0.1", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Action == "ssh.login" && e.ActorName == other.UserName);
        Assert.Contains(entries, e => e.Action == "ssh.login-refused" && e.ActorName == "");
        Assert.All(entries.Where(e => e.Action.StartsWith("ssh.", StringComparison.Ordinal)), e => Assert.Equal("127.0.0.1", e.RemoteAddress));
    }

    [Fact]
    public async Task Without_a_target_the_gateway_says_who_you_are_and_how_to_name_a_node()
    {
        server.RequireGateway();
        var user = await server.CreateUserAsync("gh");
        using var client = await server.LoginAsync(user.UserName, ServerFixture.UserPassword);
        var (key, pub) = await server.NewKeyAsync("ed25519");
        await AddKeyAsync(client, pub);
        var help = await server.SshAsync(key, null);
        Assert.Equal(0, help.ExitCode);
        Assert.Contains($"you are {user.UserName}", help.Stderr);
        Assert.Contains("You have no labs.", help.Stderr);
        var wrong = await server.SshAsync(key, null, "no-slash-here");
        Assert.Equal(2, wrong.ExitCode);
        Assert.Contains("'no-slash-here' is not LAB/NODE", wrong.Stderr);
        var forwardless = await HostCommand.RunAsync("ssh", [.. server.Options(key, "INFO"), "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-W", "127.0.0.1:22", "ltb@127.0.0.1"]);
        Assert.Contains("administratively prohibited", forwardless.Stderr);
    }

    private static async Task AddKeyAsync(HttpClient client, string publicKey) =>
        await Http.EnsureAsync(await client.PostAsJsonAsync("/api/v1/ssh-keys", new AddSshKeyRequest(publicKey), TestContext.Current.CancellationToken),
            201, "add an SSH key");

    /// <summary>frr01 from the containerlab corpus, unchanged, with the files it binds.</summary>
    private static MultipartFormDataContent Frr01Upload()
    {
        var folder = Path.Combine(Repo.ContainerlabCorpus, "frr01");
        var form = LabTestSupport.Upload(File.ReadAllText(Path.Combine(folder, "frr01.clab.yml")), "frr01.clab.yml");
        foreach (var file in Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".clab.yml", StringComparison.Ordinal)))
        {
            var part = new ByteArrayContent(File.ReadAllBytes(file));
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, "files", Path.GetRelativePath(folder, file));
        }
        return form;
    }

    /// <summary>Types <paramref name="input"/> into `ssh -tt ... TARGET` run in a PTY of 33 rows and 101 columns; the screen's text.</summary>
    private async Task<string> InteractiveAsync(string key, string target, string input)
    {
        var ssh = "ssh " + string.Join(' ', server.Options(key).Select(Quote)) + $" -tt -p {server.Port} ltb@127.0.0.1 {Quote(target)}";
        // The input waits for the prompt (sleep), as a person would; script(1) ends with ssh.
        var driver = $"(sleep 5; printf '%s' {Quote(input)}; sleep 5) | script -qfc {Quote($"stty rows 33 cols 101; {ssh}")} /dev/null";
        var result = await HostCommand.RunAsync("sh", ["-c", driver], TimeSpan.FromMinutes(1));
        return result.Stdout.Replace("\r", "", StringComparison.Ordinal);
    }

    private static string Quote(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private async Task<List<AuditEntryDto>> AuditAsync() =>
        (await server.Admin.GetFromJsonAsync<Paged<AuditEntryDto>>("/api/v1/audit?pageSize=200", TestContext.Current.CancellationToken))!.Items.ToList();
}
