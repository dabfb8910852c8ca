using System.Globalization;

namespace Ltb.Web.Components;

/// <summary>
/// The points of a sparkline's SVG polyline: the values spread evenly from left to right, scaled from zero at the
/// bottom to the largest value (at least <c>floor</c>, so an idle node's 0.2 % is not drawn as a full-height spike) at
/// the top, inside a margin so the stroke is not clipped. No value: no points; one value: a flat line across.
/// </summary>
public static class SparklineShape
{
    public static string Points(IReadOnlyList<double> values, double width, double height, double floor, double margin = 1.5)
    {
        if (values.Count == 0)
        {
            return "";
        }
        IReadOnlyList<double> series = values.Count == 1 ? [values[0], values[0]] : values;
        var top = Math.Max(floor, series.Max());
        var span = height - 2 * margin;
        var step = (width - 2 * margin) / (series.Count - 1);
        return string.Join(" ", series.Select((v, i) =>
            $"{Number(margin + i * step)},{Number(margin + span - (top <= 0 ? 0 : Math.Clamp(v, 0, top) / top * span))}"));
    }

    private static string Number(double v) => Math.Round(v, 1).ToString("0.#", CultureInfo.InvariantCulture);
}
