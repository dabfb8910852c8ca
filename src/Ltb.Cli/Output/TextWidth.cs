using System.Globalization;
using System.Text;

namespace Ltb.Cli.Output;

/// <summary>How many terminal cells text takes: East Asian wide characters two, combining marks none, others one.</summary>
internal static class TextWidth
{
    public static int Of(string text)
    {
        var width = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            width += Of(rune);
        }
        return width;
    }

    private static int Of(Rune rune)
    {
        var category = Rune.GetUnicodeCategory(rune);
        if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format)
        {
            return 0;
        }
        var v = rune.Value;
        // The wide ranges of Unicode's East Asian Width (W and F) that matter in practice: Hangul Jamo, CJK,
        // Hangul syllables, compatibility ideographs, fullwidth forms, emoji and the supplementary ideographs.
        return v is >= 0x1100 and <= 0x115F or >= 0x2E80 and <= 0xA4CF or >= 0xAC00 and <= 0xD7A3 or >= 0xF900 and <= 0xFAFF
            or >= 0xFE30 and <= 0xFE4F or >= 0xFF00 and <= 0xFF60 or >= 0xFFE0 and <= 0xFFE6 or >= 0x1F300 and <= 0x1F64F
            or >= 0x1F900 and <= 0x1F9FF or >= 0x20000 and <= 0x3FFFD ? 2 : 1;
    }
}
