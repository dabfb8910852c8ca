using System.Globalization;
using System.Text.Json;
using Ltb.Runtime.Status;

namespace Ltb.Runtime.Network;

/// <summary>Interface state and counters as the kernel reports them: <c>ip -json -s addr</c> and <c>/proc/PID/net/dev</c>.</summary>
public static class InterfaceReadings
{
    /// <summary>The interfaces of <c>ip -json -s addr show</c> (peers left null).</summary>
    public static IReadOnlyList<InterfaceDetails> Parse(string ipJson)
    {
        using var doc = JsonDocument.Parse(ipJson);
        var list = new List<InterfaceDetails>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (!e.TryGetProperty("ifname", out var name) || name.GetString() is not { } ifname)
            {
                continue;
            }
            var flags = e.TryGetProperty("flags", out var f) ? f.EnumerateArray().Select(x => x.GetString() ?? "").ToList() : [];
            var addresses = e.TryGetProperty("addr_info", out var ai)
                ? ai.EnumerateArray().Where(a => a.TryGetProperty("local", out _))
                    .Select(a => $"{a.GetProperty("local").GetString()}/{(a.TryGetProperty("prefixlen", out var p) ? p.GetInt32() : 0)}").ToList()
                : [];
            list.Add(new InterfaceDetails(ifname,
                e.TryGetProperty("address", out var mac) ? mac.GetString() : null,
                e.TryGetProperty("mtu", out var mtu) ? mtu.GetInt32() : 0,
                e.TryGetProperty("operstate", out var op) ? op.GetString() ?? "UNKNOWN" : "UNKNOWN",
                flags.Contains("UP"), flags.Contains("LOWER_UP"), addresses,
                e.TryGetProperty("stats64", out var st) ? Counters(st) : null, null));
        }
        return list;
    }

    private static InterfaceCounters Counters(JsonElement stats)
    {
        static ulong N(JsonElement dir, string key) => dir.TryGetProperty(key, out var v) && v.TryGetUInt64(out var n) ? n : 0;
        var rx = stats.GetProperty("rx");
        var tx = stats.GetProperty("tx");
        return new InterfaceCounters(N(rx, "bytes"), N(rx, "packets"), N(rx, "errors"), N(rx, "dropped"),
            N(tx, "bytes"), N(tx, "packets"), N(tx, "errors"), N(tx, "dropped"));
    }

    /// <summary>
    /// The counters of every interface of a process's network namespace from <c>/proc/PID/net/dev</c>: a file read, no
    /// process started, which is what sampling many nodes every few seconds can afford. Null when the process is gone.
    /// </summary>
    public static IReadOnlyDictionary<string, InterfaceCounters>? ReadProcNetDev(long pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/net/dev");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        return ParseProcNetDev(text);
    }

    /// <summary>
    /// <c>/proc/net/dev</c>: two header lines, then <c>NAME: rx bytes packets errs drop fifo frame compressed multicast
    /// tx bytes packets errs drop fifo colls carrier compressed</c>.
    /// </summary>
    public static IReadOnlyDictionary<string, InterfaceCounters> ParseProcNetDev(string text)
    {
        var result = new Dictionary<string, InterfaceCounters>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n').Skip(2))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }
            var v = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(x => ulong.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0).ToArray();
            if (v.Length >= 12)
            {
                result[line[..colon].Trim()] = new InterfaceCounters(v[0], v[1], v[2], v[3], v[8], v[9], v[10], v[11]);
            }
        }
        return result;
    }
}
