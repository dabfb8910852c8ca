using System.Globalization;
using System.Text.RegularExpressions;

namespace Ltb.Topology.Model;

/// <summary>Memory sizes as Docker and containerlab write them: `512m`, `1Gb`, `2GiB`, `1073741824` (units of 1024).</summary>
public static partial class ByteSize
{
    public static long? Parse(string text)
    {
        var m = SizeRegex().Match(text.Trim());
        if (!m.Success || !double.TryParse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }
        var factor = m.Groups[2].Value.ToLowerInvariant() switch
        {
            "" or "b" => 1L,
            "k" or "kb" or "kib" => 1L << 10,
            "m" or "mb" or "mib" => 1L << 20,
            "g" or "gb" or "gib" => 1L << 30,
            "t" or "tb" or "tib" => 1L << 40,
            _ => 0L,
        };
        var bytes = number * factor;
        return factor == 0 || bytes is < 1 or > long.MaxValue / 2 ? null : (long)bytes;
    }

    /// <summary>The shortest exact form: `4GiB`, `512MiB`, or bytes.</summary>
    public static string Format(long bytes) =>
        bytes % (1L << 30) == 0 ? $"{bytes >> 30}GiB" : bytes % (1L << 20) == 0 ? $"{bytes >> 20}MiB" : bytes.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]{0,3})$")]
    private static partial Regex SizeRegex();
}
