using System.Diagnostics;

namespace Ltb.Testing;

/// <summary>Runs a host program with an argument vector (no shell) for test setup and assertions.</summary>
public static class HostCommand
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public Result EnsureSuccess(string what) => ExitCode == 0
            ? this
            : throw new InvalidOperationException($"{what} failed with exit code {ExitCode}: {Stderr.Trim()} {Stdout.Trim()}");
    }

    public static bool Exists(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, name)));

    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? env = null, string? workingDirectory = null, string? stdin = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Repo.Root,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish within {timeout}");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    public static Task<Result> RunAsync(string file, params string[] args) => RunAsync(file, (IEnumerable<string>)args);

    /// <summary>Runs `./ltb` from the repository root, as a user would.</summary>
    public static Task<Result> LtbAsync(params string[] args) =>
        RunAsync(Path.Combine(Repo.Root, "ltb"), args, TimeSpan.FromMinutes(5));
}
