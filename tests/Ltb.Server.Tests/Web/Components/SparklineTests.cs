using Bunit;
using Ltb.Web.Components;
using Ltb.Web.Services;

namespace Ltb.Server.Tests.Web.Components;

/// <summary>
/// The lab page's usage sparkline rendered by bUnit: values become an SVG polyline from zero at the bottom to the
/// largest value (or the floor) at the top, nothing is drawn without values, one value is a flat line; the image is
/// named by its label. And the feed that fills it: history first, each live sample once, bounded.
/// </summary>
public sealed class SparklineTests : BunitContext
{
    private IRenderedComponent<Sparkline> Render(IReadOnlyList<double> values, double floor = 1) =>
        Render<Sparkline>(p => p.Add(s => s.Values, values).Add(s => s.Label, "CPU of r1: 50.0 %").Add(s => s.Text, "50.0 %")
            .Add(s => s.Floor, floor).Add(s => s.Width, 103).Add(s => s.Height, 23).Add(s => s.TestId, "usage-r1"));

    private static string Points(IRenderedComponent<Sparkline> line) => line.Find("polyline").GetAttribute("points")!;

    [Fact]
    public void Values_are_spread_across_and_scaled_from_zero_to_the_largest()
    {
        // 103 x 23 with a 1.5 margin: x from 1.5 to 101.5 (a step of 50 for three values), y from 21.5 (zero) to 1.5 (the top).
        var line = Render([0, 50, 100]);
        Assert.Equal("1.5,21.5 51.5,11.5 101.5,1.5", Points(line));
        var svg = line.Find("svg");
        Assert.Equal("img", svg.GetAttribute("role"));
        Assert.Equal("CPU of r1: 50.0 %", svg.GetAttribute("aria-label"));
        Assert.Equal("CPU of r1: 50.0 %", line.Find("[data-testid=usage-r1]").GetAttribute("title"));
        Assert.Contains("50.0 %", line.Find(".ltb-spark-text").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void Small_values_are_drawn_against_the_floor_and_negative_ones_at_zero()
    {
        // The largest, 2, is under the floor of 10: it reaches a fifth of the height, not the top.
        Assert.Equal("1.5,21.5 101.5,17.5", Points(Render([-3, 2], floor: 10)));
        // All zero with no floor: a flat line at the bottom, no division by zero.
        Assert.Equal("1.5,21.5 51.5,21.5 101.5,21.5", Points(Render([0, 0, 0], floor: 0)));
    }

    [Fact]
    public void No_value_draws_nothing_and_one_value_a_flat_line()
    {
        Assert.Equal("", Points(Render([])));
        Assert.Equal("1.5,1.5 101.5,1.5", Points(Render([7])));
    }

    [Fact]
    public void The_feed_puts_history_first_counts_each_live_sample_once_and_keeps_a_bounded_number()
    {
        var feed = new LabUsageFeed();
        var at = DateTimeOffset.UtcNow;
        feed.Add(Live(at, ("r1", 5, null), ("r2", 0, "stopped")));
        feed.AddHistory("r1", new UsageHistoryDto(at.AddMinutes(-3), at, 60,
            [new(at.AddMinutes(-3), 1, 1, 0, 0, 0), new(at.AddMinutes(-2), 0, 0, 0, 0, 0), new(at.AddMinutes(-1), 1, 3, 0, 0, 0)]));
        feed.Add(Live(at, ("r1", 5, null)));
        feed.Add(Live(at.AddSeconds(5), ("r1", 9, null)));
        Assert.Equal(new double[] { 1, 3, 5, 9 }, feed.Cpu("r1"));
        Assert.Equal(9, feed.Current("r1")!.CpuPercent);
        Assert.Null(feed.Current("r2"));
        Assert.Empty(feed.Cpu("r2"));

        for (var i = 0; i < LabUsageFeed.MaxPoints + 10; i++)
        {
            feed.Add(Live(at.AddSeconds(10 + i), ("r1", i, null)));
        }
        Assert.Equal(LabUsageFeed.MaxPoints, feed.Cpu("r1").Count);
        Assert.Equal(LabUsageFeed.MaxPoints + 9, feed.Cpu("r1")[^1]);
    }

    private static LabUsageDto Live(DateTimeOffset at, params (string Node, double Cpu, string? Error)[] nodes) =>
        new(Guid.NewGuid(), "lab1", "running",
            [.. nodes.Select(n => new NodeUsageDto(n.Node, "local", at, n.Error is null ? "running" : "stopped", n.Cpu, 1 << 20, null, 1, null, [], n.Error))],
            new UsageTotalsDto(nodes.Length, nodes.Length, 0, 0, 0, 0, 0, 0, 0, 0, 0));
}
