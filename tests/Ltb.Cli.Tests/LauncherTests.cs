using Ltb.Testing;

namespace Ltb.Cli.Tests;

/// <summary>`./ltb` from the repository root builds when needed and runs the command line.</summary>
public sealed class LauncherTests
{
    [Fact]
    public async Task Version_prints_the_product_version()
    {
        var result = await HostCommand.LtbAsync("--version");
        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", result.Stdout.Trim());
    }

    [Fact]
    public async Task Help_lists_the_command_groups()
    {
        var result = await HostCommand.LtbAsync("--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Lab Topology Builder", result.Stdout);
        Assert.Contains("host", result.Stdout);
    }

    [Fact]
    public async Task An_unknown_command_fails_with_a_message()
    {
        var result = await HostCommand.LtbAsync("no-such-command");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("no-such-command", result.Stderr + result.Stdout);
    }
}
