using Ltb.Topology.Policy;
using Ltb.Topology.Validation;

namespace Ltb.Topology.Tests;

/// <summary>A topology in a fresh temporary folder, with the files it refers to, loaded with a fixed environment.</summary>
internal sealed class TempTopology : IDisposable
{
    public TempTopology(string yaml, string fileName = "lab.clab.yml", params (string Path, string Content)[] files)
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ltb-topology-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        foreach (var (path, content) in files)
        {
            var full = System.IO.Path.Combine(Directory, path);
            System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
        }
        Path = System.IO.Path.Combine(Directory, fileName);
        File.WriteAllText(Path, yaml);
    }

    public string Directory { get; }

    public string Path { get; }

    public static readonly IReadOnlyDictionary<string, string> Env = new Dictionary<string, string>
    {
        ["HOME"] = "/home/student",
        ["LAB_IMAGE"] = "alpine:3",
    };

    public LoadResult Load(bool trusted = false, IReadOnlyDictionary<string, string>? env = null) =>
        TopologyLoader.LoadFile(Path, TestOptions.Untrusted with { Trusted = trusted, Environment = env ?? Env });

    /// <summary>Loads with <paramref name="policy"/> as a non-admin (the real tenant rules).</summary>
    public LoadResult LoadAs(TenantPolicy policy, IReadOnlySet<string>? localImages = null) =>
        TopologyLoader.LoadFile(Path, new LoadOptions { Policy = policy, Environment = Env, LocalImages = localImages ?? new HashSet<string>() });

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

/// <summary>
/// Options for the tests that are not about the tenant policy: untrusted (host paths refused), but with a policy that
/// lets any capability, image and port through, so that `image: alpine` on a linux node stays valid.
/// </summary>
internal static class TestOptions
{
    public static readonly TenantPolicy Open = new()
    {
        Capabilities = new HashSet<string>(
        [
            "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE",
            "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO",
            "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
            "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
            "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
        ], StringComparer.Ordinal),
        Images = ["*"],
        Ports = new PortPolicy { Allowed = true, First = 1, Last = 65535 },
    };

    public static readonly LoadOptions Untrusted = new() { Policy = Open, Environment = TempTopology.Env };
}

internal static class Diagnostics
{
    /// <summary>Loads text (paths relative to a folder that does not exist) and returns the diagnostics as printed.</summary>
    public static List<string> Of(string yaml, bool trusted = false) =>
        [.. TopologyLoader.LoadText(yaml, "t.clab.yml", TestOptions.Untrusted with { Trusted = trusted }).Diagnostics.Select(d => d.ToString())];

    public static string Single(string yaml, bool trusted = false)
    {
        var all = Of(yaml, trusted);
        Assert.True(all.Count == 1, "expected one diagnostic, got:\n" + string.Join("\n", all));
        return all[0];
    }

    public static Lab LabOf(string yaml, bool trusted = false)
    {
        var result = TopologyLoader.LoadText(yaml, "/nonexistent/t.clab.yml", TestOptions.Untrusted with { Trusted = trusted });
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        return result.Lab!;
    }

    public static IEnumerable<Diagnostic> Errors(this LoadResult result) => result.Diagnostics.Where(d => d.IsError);
}
