namespace Ltb.Server.Hosting;

/// <summary>
/// Which agent versions a controller accepts at registration: its own major.minor and the minor version before it
/// (an upgrade does controllers first, then agents one by one, and labs keep running meanwhile). Anything else is refused
/// with what to upgrade, instead of calls that fail later in ways nobody can read.
/// </summary>
public static class AgentVersions
{
    /// <summary>The version of this controller (Directory.Build.props' Version).</summary>
    public static Version Controller { get; } = typeof(AgentVersions).Assembly.GetName().Version ?? new Version(0, 0);

    /// <summary>Null when an agent of <paramref name="agent"/> may register with a controller of <paramref name="controller"/>; else why not.</summary>
    public static string? Refusal(string? agent, Version controller)
    {
        var mine = $"{controller.Major}.{controller.Minor}";
        var older = controller.Minor > 0 ? $"{controller.Major}.{controller.Minor - 1}" : null;
        var accepted = older is null ? $"{mine}.x" : $"{mine}.x or {older}.x";
        if (!Version.TryParse((agent ?? "").Split('+', '-')[0], out var v))
        {
            return $"the agent reports no version this controller understands ('{agent}'); run an agent of version {accepted}";
        }
        if (v.Major == controller.Major && (v.Minor == controller.Minor || v.Minor == controller.Minor - 1))
        {
            return null;
        }
        return v.Major > controller.Major || (v.Major == controller.Major && v.Minor > controller.Minor)
            ? $"the agent's version {v.ToString(3)} is newer than this controller's ({controller.ToString(3)}): upgrade the controller first " +
              $"(it accepts agents of version {accepted})"
            : $"the agent's version {v.ToString(3)} is too old for this controller ({controller.ToString(3)}): upgrade the agent to {mine} " +
              $"(a controller accepts agents of its own and the previous minor version: {accepted})";
    }
}
