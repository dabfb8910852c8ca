using MudBlazor;

namespace Ltb.Web.Layout;

/// <summary>The one theme (light and dark palettes); pages never set colours of their own.</summary>
public static class LtbTheme
{
    public static readonly MudTheme Theme = new()
    {
        // State colours dark enough for white text (axe-core's 4.5:1), the graph's green included (client/src/graph.js).
        PaletteLight = new PaletteLight
        {
            Primary = "#1e5aa8", AppbarBackground = "#1e5aa8", Success = "#2e7d32", Info = "#0277bd", Error = "#c62828", Warning = "#b45309",
        },
        // Light state colours with dark text on the dark surface; secondary text bright enough to read.
        PaletteDark = new PaletteDark
        {
            Primary = "#7aa7e8", PrimaryContrastText = "#0b1a2e", Success = "#81c784", SuccessContrastText = "#000000",
            Info = "#81d4fa", InfoContrastText = "#000000", Error = "#ef9a9a", ErrorContrastText = "#000000",
            Warning = "#ffb74d", WarningContrastText = "#000000", TextSecondary = "rgba(255,255,255,0.78)",
            // MudBlazor writes the text of alerts (and other tinted text) in the "darken" shade: on the dark surface a darker
            // green or blue falls under 4.5:1, so these are lighter tints instead.
            SuccessDarken = "#a5d6a7", InfoDarken = "#b3e5fc", ErrorDarken = "#ffcdd2", WarningDarken = "#ffe0b2",
        },
        Typography = new Typography
        {
            Default = new DefaultTypography { FontFamily = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"] },
        },
    };
}
