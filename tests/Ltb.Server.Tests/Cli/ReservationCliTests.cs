using System.Globalization;
using System.Text.Json;
using Ltb.Testing;

namespace Ltb.Server.Tests.Cli;

/// <summary>`ltb reservation create/list/show/update/extend/cancel/calendar` against `./ltb serve`.</summary>
public sealed class ReservationCliTests(ServeProcess server) : IClassFixture<ServeProcess>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ltb-reservation-cli-").FullName;

    private Task<HostCommand.Result> Ltb(string? stdin, params string[] args)
    {
        var env = ServeProcess.HomeEnvironment(server.Home);
        env["LTB_SERVER"] = "";
        env["LTB_TOKEN"] = "";
        return HostCommand.RunAsync(Path.Combine(Repo.Root, "ltb"), args, TimeSpan.FromMinutes(6), env, stdin: stdin);
    }

    private async Task<string> OkAsync(params string[] args)
    {
        var result = await Ltb(null, args);
        Assert.True(result.ExitCode == 0, $"ltb {string.Join(' ', args)}: {result.Stderr}{result.Stdout}");
        return result.Stdout;
    }

    [Fact]
    public async Task A_booking_is_made_listed_shown_changed_extended_and_cancelled()
    {
        var login = await Ltb(ServeProcess.Password + "\n", "login", "--server", server.Url, "--user", "admin", "--password-stdin");
        Assert.True(login.ExitCode == 0, login.Stderr);
        var template = "rcli" + Guid.NewGuid().ToString("N")[..6];
        var file = Path.Combine(_folder, "lab.clab.yml");
        await File.WriteAllTextAsync(file, $"name: {template}\ntopology:\n  nodes:\n    n1: {{kind: linux, image: \"ltb/tiny:latest\", cpu: 0.5, memory: 64MiB}}\n");
        await OkAsync("template", "push", file);
        var start = DateTimeOffset.UtcNow.AddDays(3);
        var at = start.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture);
        var startText = start.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture);

        var created = await OkAsync("reservation", "create", "booked", "--template", template, "--start", at, "--duration", "90m");
        Assert.Contains($"reservation 'booked' (scheduled): {startText} to ", created);
        Assert.Contains("1 lab(s) of 0.5 CPUs and 64 MiB", created);
        Assert.Contains("  admin: host local", created);

        using (var list = JsonDocument.Parse(await OkAsync("reservation", "list", "-o", "json")))
        {
            var mine = list.RootElement.EnumerateArray().Single(r => r.GetProperty("name").GetString() == "booked");
            Assert.Equal(("scheduled", template), (mine.GetProperty("state").GetString(), mine.GetProperty("template").GetString()));
        }
        Assert.Contains("booked", await OkAsync("reservation", "list"));
        Assert.Contains("admin: host local", await OkAsync("reservation", "show", "booked"));
        Assert.DoesNotContain("snapshotted", created);
        var longer = await OkAsync("reservation", "update", "booked", "--duration", "2h", "--snapshot-at-end");
        Assert.Contains($"to {start.AddHours(2).UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture)}", longer);
        Assert.Contains("at its end each running lab is snapshotted", longer);
        Assert.DoesNotContain("snapshotted", await OkAsync("reservation", "update", "booked", "--snapshot-at-end", "false"));
        var until = start.AddHours(2).AddMinutes(30).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture);
        Assert.Contains("(scheduled)", await OkAsync("reservation", "extend", "booked", "--until", until));
        var feed = (await OkAsync("reservation", "calendar")).Trim();
        Assert.StartsWith($"{server.Url}/api/v1/calendar/ltbcal_", feed);
        using (var http = new HttpClient())
        {
            Assert.Contains("SUMMARY:Lab: booked", await http.GetStringAsync(feed, TestContext.Current.CancellationToken));
        }
        Assert.Contains("revoked", await OkAsync("reservation", "calendar", "--revoke"));
        Assert.Contains("reservation 'booked' cancelled", await OkAsync("reservation", "cancel", "booked"));

        var bad = await Ltb(null, "reservation", "create", "x", "--template", template, "--start", "tomorrow", "--duration", "1h");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("--start 'tomorrow' is not a time; write ISO 8601", bad.Stderr);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
