using System.Text.Json;
using Ltb.Server.Tests.Labs;
using Ltb.Testing;

namespace Ltb.Server.Tests.Cli;

/// <summary>`ltb template push/list/show` and `ltb lab deploy --template` against `./ltb serve`.</summary>
public sealed class TemplateCliTests(ServeProcess server) : IClassFixture<ServeProcess>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ltb-template-cli-").FullName;

    private Task<HostCommand.Result> Ltb(string? stdin, params string[] args)
    {
        var env = ServeProcess.HomeEnvironment(server.Home);
        env["LTB_SERVER"] = "";
        env["LTB_TOKEN"] = "";
        return HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), args, TimeSpan.FromMinutes(6), env, stdin: stdin);
    }

    private async Task LoginAsync()
    {
        var login = await Ltb(ServeProcess.Password + "\n", "login", "--server", server.Url, "--user", "admin", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.Stderr);
    }

    [Fact]
    public async Task Push_list_and_show_keep_the_YAML_and_its_versions()
    {
        await LoginAsync();
        var name = "cli" + Guid.NewGuid().ToString("N")[..6];
        var file = Path.Combine(_folder, "lab.clab.yml");
        Directory.CreateDirectory(Path.Combine(_folder, "configs"));
        await File.WriteAllTextAsync(Path.Combine(_folder, "configs", "a.cfg"), "hostname a\n");
        var first = LabTestSupport.TinyLab(name).Replace("    a:\n      kind: linux\n",
            "    a:\n      kind: linux\n      binds: [\"configs/a.cfg:/etc/a.cfg\"]\n") + "\n# first   \n";
        Assert.Contains("binds", first);
        await File.WriteAllTextAsync(file, first);

        var push = await Ltb(null, "template", "push", file, "--description", "two tiny nodes", "--tag", "tiny", "--tag", "cli",
            "--visibility", "everyone");
        Assert.True(push.ExitCode == 0, push.Stderr + push.Stdout);
        Assert.StartsWith($"template '{name}' version 1 stored (1 files;", push.Stdout.Trim());

        var second = first.Replace("# first", "# second");
        await File.WriteAllTextAsync(file, second);
        var again = await Ltb(null, "template", "push", file);
        Assert.True(again.ExitCode == 0, again.Stderr + again.Stdout);
        Assert.StartsWith($"template '{name}' version 2 stored", again.Stdout.Trim());

        var list = await Ltb(null, "template", "list", "--format", "json");
        Assert.True(list.ExitCode == 0, list.Stderr);
        using var doc = JsonDocument.Parse(list.Stdout);
        var mine = doc.RootElement.EnumerateArray().Single(t => t.GetProperty("name").GetString() == name);
        Assert.Equal((2, "everyone", "admin"), (mine.GetProperty("version").GetInt32(), mine.GetProperty("visibility").GetString(),
            mine.GetProperty("owner").GetString()));
        Assert.Equal(["cli", "tiny"], mine.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        // The demo template a first start loads is there too.
        Assert.Contains(doc.RootElement.EnumerateArray(), t => t.GetProperty("name").GetString() == "ospf-demo");
        var table = await Ltb(null, "template", "list");
        Assert.Contains(name, table.Stdout);

        var show = await Ltb(null, "template", "show", name);
        Assert.True(show.ExitCode == 0, show.Stderr);
        Assert.Equal(second, show.Stdout);
        var old = await Ltb(null, "template", "show", name, "--version", "1");
        Assert.Equal(first, old.Stdout);
        var missing = await Ltb(null, "template", "show", "no-such-template");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no template named 'no-such-template'", missing.Stderr);
    }

    [Fact]
    public async Task A_stored_template_deploys_by_name()
    {
        LabTestSupport.RequireDocker();
        await LoginAsync();
        var name = "clt" + Guid.NewGuid().ToString("N")[..6];
        var file = Path.Combine(_folder, "tiny.clab.yml");
        await File.WriteAllTextAsync(file, LabTestSupport.TinyLab(name));
        var push = await Ltb(null, "template", "push", file, "--name", name + "-tpl");
        Assert.True(push.ExitCode == 0, push.Stderr + push.Stdout);
        // Version 2 names an image no engine has: deploying version 1 must not touch it.
        await File.WriteAllTextAsync(file, LabTestSupport.TinyLab(name, image: "ltb/no-such-image:latest"));
        var second = await Ltb(null, "template", "push", file, "--name", name + "-tpl");
        Assert.True(second.ExitCode == 0, second.Stderr + second.Stdout);
        var deploy = await Ltb(null, "lab", "deploy", "--template", name + "-tpl", "--template-version", "1", "--name", name);
        try
        {
            Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout);
            Assert.EndsWith($"lab '{name}' is running", deploy.Stdout.Trim());
            var ping = await Ltb(null, "lab", "exec", name, "a", "--", "ping", "-c", "1", "-W", "2", "10.0.0.2");
            Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);
        }
        finally
        {
            var destroy = await Ltb(null, "lab", "destroy", name);
            Assert.True(destroy.ExitCode == 0, destroy.Stderr + destroy.Stdout);
        }
        var both = await Ltb(null, "lab", "deploy", "--template", name + "-tpl", "-t", file);
        Assert.Equal(1, both.ExitCode);
        Assert.Contains("one of the two", both.Stderr);
        var unknown = await Ltb(null, "lab", "deploy", "--template", name + "-tpl", "--template-version", "9", "--name", name);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("version 9", unknown.Stderr);
    }

    /// <summary>The README's promise: the server starts with a demo template that works with the local images.</summary>
    [Fact]
    public async Task The_demo_template_deploys_and_its_hosts_reach_each_other_over_OSPF()
    {
        LabTestSupport.RequireDocker();
        await LoginAsync();
        var name = "demo" + Guid.NewGuid().ToString("N")[..6];
        var deploy = await Ltb(null, "lab", "deploy", "--template", "ospf-demo", "--name", name);
        try
        {
            Assert.True(deploy.ExitCode == 0, deploy.Stderr + deploy.Stdout);
            // OSPF needs its dead interval and SPF runs to converge: try for a while, as a person would.
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            HostCommand.Result ping;
            do
            {
                ping = await Ltb(null, "lab", "exec", name, "h1", "--", "ping", "-c", "1", "-W", "2", "192.168.2.2");
                if (ping.ExitCode != 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(3));
                }
            }
            while (ping.ExitCode != 0 && DateTime.UtcNow < deadline);
            Assert.True(ping.ExitCode == 0, ping.Stdout + ping.Stderr);
        }
        finally
        {
            var destroy = await Ltb(null, "lab", "destroy", name);
            Assert.True(destroy.ExitCode == 0, destroy.Stderr + destroy.Stdout);
        }
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
