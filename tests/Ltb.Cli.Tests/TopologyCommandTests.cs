using System.Text.Json;
using Ltb.Testing;

namespace Ltb.Cli.Tests;

/// <summary>`./ltb topology ...` as a user runs it: diagnostics format, exit codes, show and convert output.</summary>
public sealed class TopologyCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"ltb-cli-topology-{Guid.NewGuid():N}");

    public TopologyCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Validate_prints_positioned_errors_and_exits_1()
    {
        var bad = Write("bad.clab.yml", "name: bad\ntopology:\n  nodes:\n    r1: {image: alpine}\n  links:\n    - endpoints: [\"r1:eth1\", \"r9:eth1\"]\n");
        var good = Write("good.clab.yml", "name: good\ntopology:\n  nodes:\n    r1: {image: alpine, extras: {x: 1}}\n");
        var result = await HostCommand.LtbAsync("topology", "validate", good, bad);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
        [
            $"{good}:4:25: warning: 'extras' of node 'r1' is not supported by LTB yet; it is kept for conversion but has no effect",
            $"{bad}:6:30: error: node 'r9' in link 1 is not defined; defined nodes: r1",
        ], result.Stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task Validate_exits_0_when_there_are_only_warnings()
    {
        var good = Write("good.clab.yml", "name: good\ntopology:\n  nodes:\n    r1: {image: alpine, extras: {x: 1}}\n");
        var result = await HostCommand.LtbAsync("topology", "validate", good);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("warning:", result.Stderr);
    }

    [Fact]
    public async Task Reads_a_file_that_another_process_holds_an_exclusive_flock_on()
    {
        // FRR's `vtysh -b` holds such a lock on the bind-mounted frr.conf while a router boots.
        var path = Write("locked.clab.yml", "name: locked\ntopology:\n  nodes:\n    r1: {image: alpine}\n");
        var result = await HostCommand.RunAsync("flock", "--exclusive", path, Path.Combine(Repo.Root, "ltb"), "topology", "validate", path);
        Assert.True(result.ExitCode == 0, result.Stderr);
    }

    [Fact]
    public async Task Validate_untrusted_refuses_host_paths_as_the_server_would()
    {
        var cvx02 = Path.Combine(Repo.ContainerlabCorpus, "cvx02", "topo.clab.yml");
        Assert.Equal(0, (await HostCommand.LtbAsync("topology", "validate", cvx02)).ExitCode);
        var untrusted = await HostCommand.LtbAsync("topology", "validate", "--untrusted", cvx02);
        Assert.Equal(1, untrusted.ExitCode);
        Assert.Contains($"{cvx02}:10:11: error: bind source '/lib/modules' of node 'sw1' is a host path", untrusted.Stderr);
    }

    [Fact]
    public async Task Show_prints_the_resolved_model_as_camel_case_json()
    {
        var frr01 = Path.Combine(Repo.ContainerlabCorpus, "frr01", "frr01.clab.yml");
        var result = await HostCommand.LtbAsync("topology", "show", frr01);
        Assert.Equal(0, result.ExitCode);
        using var json = JsonDocument.Parse(result.Stdout);
        var router1 = json.RootElement.GetProperty("nodes")[0];
        Assert.Equal("router1", router1.GetProperty("name").GetString());
        Assert.Equal("quay.io/frrouting/frr:10.5.1", router1.GetProperty("image").GetString());
        Assert.Equal("eth1", json.RootElement.GetProperty("links")[0].GetProperty("endpoints")[0].GetProperty("linuxInterface").GetString());
        Assert.Equal("veth", json.RootElement.GetProperty("links")[0].GetProperty("type").GetString());
    }

    [Fact]
    public async Task Convert_writes_an_ltb_template_that_validates()
    {
        var output = Path.Combine(Repo.ContainerlabCorpus, "..", "..", "..", "..", _dir, "srl02.ltb.yml");
        var srl02 = Path.Combine(Repo.ContainerlabCorpus, "srl02", "srl02.clab.yml");
        var result = await HostCommand.LtbAsync("topology", "convert", srl02, "--to", "ltb", "-o", Path.Combine(_dir, "srl02.ltb.yml"));
        Assert.Equal(0, result.ExitCode);
        var text = File.ReadAllText(Path.Combine(_dir, "srl02.ltb.yml"));
        Assert.StartsWith("format: ltb/v1\nname: srl02\n", text);
        // The startup-config files stay where they are: the template refers to them by absolute path.
        Assert.Contains($"config-file: {Path.Combine(Repo.ContainerlabCorpus, "srl02", "srl1.cfg")}", text);
        Assert.Equal(0, (await HostCommand.LtbAsync("topology", "validate", Path.Combine(_dir, "srl02.ltb.yml"))).ExitCode);
        Assert.NotNull(output);
    }
}
