using MudBlazor;

namespace Ltb.Web.Layout;

/// <summary>The one theme (light and dark palettes); pages never set colours of their own.</summary>
public static class LtbTheme
{
    public static readonly MudTheme Theme = new()
    {
        PaletteLight = new PaletteLight { Primary = "#1e5aa8", AppbarBackground = "#1e5aa8" },
        PaletteDark = new PaletteDark { Primary = "#7aa7e8" },
        Typography = new Typography
        {
            Default = new DefaultTypography { FontFamily = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"] },
        },
    };
}
