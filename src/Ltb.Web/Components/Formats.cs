namespace Ltb.Web.Components;

/// <summary>How the pages write sizes and times (one place, so every table agrees).</summary>
public static class Formats
{
    private const double GiB = 1024.0 * 1024 * 1024;

    public static string Gib(long bytes) => bytes <= 0 ? "—" : $"{bytes / GiB:0.#} GiB";

    /// <summary>A file's size: MiB below a GiB (a small disk, an archive), else GiB.</summary>
    public static string Size(long bytes) => bytes < GiB ? $"{bytes / (1024.0 * 1024):0.#} MiB" : Gib(bytes);

    public static string Time(DateTimeOffset? at) => at?.ToLocalTime().ToString("yyyy-MM-dd HH:mm") ?? "—";

    public static string Seconds(DateTimeOffset? at) => at?.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss") ?? "—";
}
