using Ltb.Web.Components;

namespace Ltb.Server.Tests.Web.Components;

/// <summary>The web UI's models with logic: the reservations calendar, the booking form, a capture's rows, a picked folder, the graph.</summary>
public sealed class WebModelTests
{
    private static readonly TimeZoneInfo Utc = TimeZoneInfo.Utc;

    private static ReservationDto Reservation(string name, DateTimeOffset from, DateTimeOffset to, params string[] hosts) => new(
        Guid.NewGuid(), name, Guid.NewGuid(), "teacher", Guid.NewGuid(), "ospf", 1, from, to, "members", Guid.NewGuid(), [], "scheduled", 0.5,
        256L << 20, [.. hosts.Select((h, i) => new ReservationLabDto($"s{i}", Guid.NewGuid(), Guid.NewGuid(), h, null))], 0, null,
        from, from, 1);

    [Fact]
    public void A_week_starts_on_monday_and_places_each_reservation_on_every_day_it_touches()
    {
        Assert.Equal(new DateOnly(2027, 3, 1), Calendar.WeekStart(new DateOnly(2027, 3, 7))); // a Sunday
        Assert.Equal(new DateOnly(2027, 3, 1), Calendar.WeekStart(new DateOnly(2027, 3, 1)));
        var night = Reservation("night", new(2027, 3, 2, 22, 0, 0, TimeSpan.Zero), new(2027, 3, 3, 2, 0, 0, TimeSpan.Zero));
        var morning = Reservation("morning", new(2027, 3, 2, 9, 0, 0, TimeSpan.Zero), new(2027, 3, 2, 11, 30, 0, TimeSpan.Zero));
        var later = Reservation("later", new(2027, 3, 12, 9, 0, 0, TimeSpan.Zero), new(2027, 3, 12, 10, 0, 0, TimeSpan.Zero));
        var days = Calendar.Build(new DateOnly(2027, 3, 1), 7, [night, later, morning], Utc);

        Assert.Equal(7, days.Count);
        Assert.Empty(days[0].Entries);
        Assert.Equal(["morning", "night"], days[1].Entries.Select(e => e.Reservation.Name));
        Assert.Equal("09:00–11:30", days[1].Entries[0].Span);
        Assert.Equal("22:00–00:00…", days[1].Entries[1].Span);
        Assert.Equal("…00:00–02:00", Assert.Single(days[2].Entries).Span);
        Assert.All(days.Skip(3), d => Assert.Empty(d.Entries)); // the 12th is not in this week
        Assert.Equal("morning", Assert.Single(Calendar.Build(new DateOnly(2027, 3, 2), 1, [morning, later], Utc)[0].Entries).Reservation.Name);
    }

    [Fact]
    public void The_calendar_shows_times_in_the_pages_zone()
    {
        var zone = TimeZoneInfo.CreateCustomTimeZone("plus2", TimeSpan.FromHours(2), "plus2", "plus2");
        var late = Reservation("late", new(2027, 3, 2, 23, 0, 0, TimeSpan.Zero), new(2027, 3, 2, 23, 30, 0, TimeSpan.Zero));
        var days = Calendar.Build(new DateOnly(2027, 3, 2), 2, [late], zone);
        Assert.Empty(days[0].Entries);
        Assert.Equal("01:00–01:30", Assert.Single(days[1].Entries).Span);
    }

    [Fact]
    public void The_booking_form_says_what_is_missing_before_asking_the_server()
    {
        var draft = new ReservationDraft { Name = "-bad", StartText = "2027-03-02T10:00", EndText = "2027-03-02T09:00", Audience = "members" };
        var problems = draft.Problems();
        Assert.Equal(["endsAt", "group", "name", "template"], problems.Keys.Order());
        Assert.Equal("is after the start", problems["endsAt"]);

        draft.Name = "ospf-class";
        draft.TemplateId = Guid.NewGuid();
        draft.EndText = "not a time";
        Assert.Null(draft.EndsAt);
        Assert.Equal("give the end", draft.Problems()["endsAt"]);
        draft.EndText = "2027-03-02T12:00";
        draft.GroupId = Guid.NewGuid();
        Assert.Empty(draft.Problems());
    }

    [Fact]
    public void A_booking_is_sent_as_instants_with_the_audience_it_names()
    {
        var zone = TimeZoneInfo.CreateCustomTimeZone("plus1", TimeSpan.FromHours(1), "plus1", "plus1");
        var group = Guid.NewGuid();
        var draft = new ReservationDraft
        {
            Name = "c", TemplateId = Guid.NewGuid(), StartText = "2027-03-02T10:00", EndText = "2027-03-02T12:00", Audience = "members", GroupId = group,
        };
        var create = draft.ToCreate(zone);
        Assert.Equal(new DateTimeOffset(2027, 3, 2, 9, 0, 0, TimeSpan.Zero), create.StartsAt.ToUniversalTime());
        Assert.Equal((group, (IReadOnlyList<Guid>?)null), (create.GroupId, create.TeamIds));
        draft.Audience = "teams";
        var teams = draft.ToUpdate(zone);
        Assert.Null(teams.GroupId);
        Assert.Equal([group], teams.TeamIds!);

        // What the form's capacity answer holds for: any change of a field changes the key.
        var key = draft.Key;
        draft.EndText = "2027-03-02T12:30";
        Assert.NotEqual(key, draft.Key);
        var back = ReservationDraft.From(Reservation("r", new(2027, 3, 2, 9, 0, 0, TimeSpan.Zero), new(2027, 3, 2, 11, 0, 0, TimeSpan.Zero)), zone);
        Assert.Equal(("2027-03-02T10:00", "2027-03-02T12:00", "members"), (back.StartText, back.EndText, back.Audience));
    }

    [Fact]
    public void The_capacity_answer_names_labs_and_hosts()
    {
        var plan = Reservation("r", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddHours(1), "rack1", "rack1", "rack2");
        Assert.Equal("Fits: 3 labs (0.5 CPU, 256 MiB each) on rack1 (2), rack2 (1)", ReservationDraft.Fits(plan));
    }

    [Fact]
    public void A_capture_tab_keeps_the_newest_rows_once_each_in_frame_order()
    {
        static DecodedPacketDto Row(int n) => new(n, DateTimeOffset.UnixEpoch, n, "r1:eth1", "a", "b", "OSPF", 90, "Hello");
        var rows = new PacketList(3);
        rows.Add([Row(1), Row(2)]);
        rows.Add([Row(2), Row(3), Row(4)]); // a repeated row of a long poll that overlapped
        rows.Add([]);
        Assert.Equal([2, 3, 4], rows.Select(r => r.Number));
        rows.Clear();
        Assert.Equal(0, rows.Count);
        Assert.Equal("ltb capture frr01 router1:eth1 -w - | wireshark -k -i -", CaptureCommands.Wireshark("frr01", "router1:eth1"));
        Assert.Equal("frr01-router1-eth1.pcapng", CaptureCommands.FileName("frr01", "router1:eth1"));
    }

    [Fact]
    public void A_picked_folder_gives_its_topology_and_the_files_under_their_paths()
    {
        var (topology, files) = TopologyFolder.Split(["frr01/router1/frr.conf", "frr01/frr01.clab.yml", "frr01/router2/frr.conf", "frr01/notes.yml"]);
        Assert.Equal("frr01/frr01.clab.yml", topology);
        Assert.Equal(["frr01/notes.yml", "frr01/router1/frr.conf", "frr01/router2/frr.conf"], files.Order());
        Assert.Equal("router1/frr.conf", TopologyFolder.Relative("frr01/router1/frr.conf"));
        Assert.Equal("x/lab.yml", TopologyFolder.Split(["x/lab.yml", "x/a/b.cfg"]).Topology);
        Assert.Null(TopologyFolder.Split(["x/a.yml", "x/b.yml"]).Topology); // two candidates: the user is asked, not guessed for
    }

    [Fact]
    public void A_topologys_model_gives_the_graph_its_nodes_and_the_links_between_their_interfaces()
    {
        using var model = System.Text.Json.JsonDocument.Parse("""
            {"name": "m", "nodes": [{"name": "r1", "kind": "linux"}, {"name": "r2", "kind": "frr"}, {"kind": "nameless"}],
             "links": [{"type": "veth", "endpoints": [{"node": "r1", "interface": "eth1"}, {"node": "r2", "interface": "eth1"}]},
                       {"type": "dummy", "endpoints": [{"node": "r2", "interface": "dummy0"}]},
                       {"type": "veth", "endpoints": []}]}
            """);
        var graph = GraphModel.FromModel(model.RootElement);
        Assert.Equal([new("r1", GraphModel.Defined, "linux"), new("r2", GraphModel.Defined, "frr")], graph.Nodes);
        Assert.Equal([new("r1:eth1", "r2:eth1", "up", "link-1"), new("r2:dummy0", null, "up", "link-2")], graph.Links);
        using var odd = System.Text.Json.JsonDocument.Parse("""{"nodes": "not a list"}""");
        Assert.Empty(GraphModel.FromModel(odd.RootElement).Nodes);
    }

    [Fact]
    public void A_validation_problem_is_split_by_field()
    {
        var e = new LtbApiException(400, "currentPassword: is not the current password; newPassword: is too short [HTTP 400]");
        Assert.Equal("is not the current password", FieldErrors.Of(e, "currentPassword"));
        Assert.Equal("is too short", FieldErrors.Of(e, "newPassword"));
        Assert.Null(FieldErrors.Of(e, "name"));
    }
}
