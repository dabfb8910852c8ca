using System.Diagnostics;
using System.Globalization;

/// <summary>`ltb serve` as a user starts it, with the admin password from LTB_ADMIN_PASSWORD.</summary>
internal sealed class ServeProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _log = [];
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServeProcess(Process process) => _process = process;

    public static ServeProcess Start(string ltb, string data, string url, string password, bool readCache,
        IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(ltb) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "serve", "--data", data, "--listen", url })
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["LTB_ADMIN_PASSWORD"] = password;
        psi.Environment["LTB_READ_CACHE"] = readCache ? "on" : "off";
        psi.Environment["LTB_SSH_PORT"] = "off";
        foreach (var (name, value) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }
        var serve = new ServeProcess(Process.Start(psi)!);
        serve._process.OutputDataReceived += (_, e) => serve.OnLine(e.Data);
        serve._process.ErrorDataReceived += (_, e) => serve.OnLine(e.Data);
        serve._process.BeginOutputReadLine();
        serve._process.BeginErrorReadLine();
        return serve;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.Add(line);
        }
        if (line.StartsWith("LTB is listening on", StringComparison.Ordinal))
        {
            _listening.TrySetResult();
        }
    }

    /// <summary>The server's process id (for its CPU time and memory).</summary>
    public int Pid => _process.Id;

    /// <summary>The first line printed so far that starts with <paramref name="prefix"/>, or null.</summary>
    public string? Line(string prefix)
    {
        lock (_log)
        {
            return _log.FirstOrDefault(l => l.TrimStart().StartsWith(prefix, StringComparison.Ordinal));
        }
    }

    public string Log()
    {
        lock (_log)
        {
            return string.Join('\n', _log.TakeLast(40));
        }
    }

    public async Task WaitUntilListeningAsync(TimeSpan timeout)
    {
        var exited = _process.WaitForExitAsync();
        if (await Task.WhenAny(_listening.Task, exited, Task.Delay(timeout)) != _listening.Task)
        {
            throw new InvalidOperationException($"ltb serve did not start:\n{Log()}");
        }
    }

    /// <summary>SIGTERM (./ltb execs the server, so this pid is the server): a graceful stop, then a kill after 30 s.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }
}
