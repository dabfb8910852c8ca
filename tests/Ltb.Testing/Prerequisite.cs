namespace Ltb.Testing;

/// <summary>
/// Tests that need a real part (Docker, OVS, root...) call <see cref="Require"/>. Outside CI a missing part skips the
/// test with the reason; in CI (CI=true) it fails, because CI must install everything (no test is skipped in CI).
/// </summary>
public static class Prerequisite
{
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static void Require(bool present, string what)
    {
        if (present)
        {
            return;
        }
        var message = $"prerequisite missing: {what}. Run scripts/prepare-host.sh test (or the README's test command).";
        if (InCi)
        {
            Assert.Fail(message);
        }
        Assert.Skip(message);
    }

    public static void RequireRoot() =>
        Require(Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root",
            "root (network namespaces and veth pairs need it)");

    public static void RequireCommand(string name) => Require(HostCommand.Exists(name), $"the '{name}' command");
}
