using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Ltb.Runtime.Nodes.Vm;
using Ltb.Runtime.Tests.Support;

namespace Ltb.Runtime.Tests.Vm;

/// <summary>
/// The QMP client against a fake QEMU on a real unix socket: the test plays QEMU's side of the protocol line by line
/// (greeting, capabilities, answers by id, events in between, errors, a connection that ends).
/// </summary>
public sealed class QmpClientTests : IAsyncDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"ltb-qmp-{Guid.NewGuid():N}.sock");
    private readonly Socket _listener;

    public QmpClientTests()
    {
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(_path));
        _listener.Listen(1);
    }

    private const string Greeting = """{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}""";

    /// <summary>Plays QEMU: sends the greeting, answers qmp_capabilities, then hands the connection to <paramref name="serve"/>.</summary>
    private async Task<QmpClient> ConnectAsync(Func<FakeQemu, Task> serve)
    {
        var server = Task.Run(async () =>
        {
            using var socket = await _listener.AcceptAsync(TestLabs.Ct);
            using var qemu = new FakeQemu(new NetworkStream(socket));
            await qemu.SendAsync(Greeting);
            var caps = await qemu.ReceiveAsync();
            Assert.Equal("qmp_capabilities", caps["execute"]!.GetValue<string>());
            await qemu.SendAsync($$"""{"return": {}, "id": {{caps["id"]!.ToJsonString()}}}""");
            await serve(qemu);
        }, TestLabs.Ct);
        var client = await QmpClient.ConnectAsync(_path, TestLabs.Ct);
        _ = server.ContinueWith(t => t.Exception, TaskScheduler.Default);
        return client;
    }

    [Fact]
    public async Task It_reads_the_greeting_negotiates_and_matches_answers_to_commands_by_id()
    {
        await using var client = await ConnectAsync(async qemu =>
        {
            var first = await qemu.ReceiveAsync();
            var second = await qemu.ReceiveAsync();
            // Answered out of order, with an event in between: each caller gets its own answer.
            await qemu.SendAsync($$"""{"return": {"running": true, "status": "running"}, "id": {{second["id"]!.ToJsonString()}}}""");
            await qemu.SendAsync("""{"timestamp": {"seconds": 1700000000, "microseconds": 5}, "event": "RESUME"}""");
            await qemu.SendAsync($$"""{"return": {}, "id": {{first["id"]!.ToJsonString()}}}""");
        });

        Assert.Equal("7.2.22", client.Version);
        var cont = client.ExecuteAsync("cont", null, TestLabs.Ct);
        var status = client.ExecuteAsync("query-status", null, TestLabs.Ct);
        Assert.Equal("running", (await status)!["status"]!.GetValue<string>());
        Assert.NotNull(await cont);
        var resumed = await client.WaitForEventAsync("RESUME", TestLabs.Ct);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000).AddTicks(50), resumed.At);
    }

    [Fact]
    public async Task A_command_sends_its_arguments_and_a_refusal_carries_qemus_class_and_description()
    {
        JsonNode? seen = null;
        await using var client = await ConnectAsync(async qemu =>
        {
            seen = await qemu.ReceiveAsync();
            await qemu.SendAsync($$"""{"error": {"class": "DeviceNotFound", "desc": "Device 'net9' not found"}, "id": {{seen["id"]!.ToJsonString()}}}""");
        });

        var e = await Assert.ThrowsAsync<QmpException>(() => client.ExecuteAsync("set_link", new JsonObject { ["name"] = "net9", ["up"] = false }, TestLabs.Ct));

        Assert.Equal("DeviceNotFound", e.ErrorClass);
        Assert.Equal("Device 'net9' not found", e.Message);
        Assert.Equal("set_link", seen!["execute"]!.GetValue<string>());
        Assert.False(seen["arguments"]!["up"]!.GetValue<bool>());
        Assert.True(seen["id"]!.GetValue<long>() > 0);
    }

    [Fact]
    public async Task A_connection_that_ends_fails_the_waiting_command_instead_of_hanging()
    {
        await using var client = await ConnectAsync(async qemu =>
        {
            await qemu.ReceiveAsync();
            await qemu.SendAsync("""{"event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}""");
            qemu.Close(); // QEMU quit
        });

        var e = await Assert.ThrowsAsync<QmpException>(() => client.ExecuteAsync("system_powerdown", null, TestLabs.Ct));
        Assert.Contains("closed the QMP connection", e.Message);
        var shutdown = await client.WaitForEventAsync("SHUTDOWN", TestLabs.Ct);
        Assert.Equal("guest-shutdown", shutdown.Data!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Something_that_is_not_qemu_is_refused_at_the_greeting()
    {
        var server = Task.Run(async () =>
        {
            using var socket = await _listener.AcceptAsync(TestLabs.Ct);
            using var qemu = new FakeQemu(new NetworkStream(socket));
            await qemu.SendAsync("""{"hello": "I am not QEMU"}""");
        }, TestLabs.Ct);

        var e = await Assert.ThrowsAsync<QmpException>(() => QmpClient.ConnectAsync(_path, TestLabs.Ct));

        Assert.Contains("not a QMP greeting", e.Message);
        await server.WaitAsync(TestLabs.Ct);
    }

    [Fact]
    public async Task A_line_longer_than_the_bound_ends_the_connection()
    {
        await using var client = await ConnectAsync(async qemu =>
        {
            await qemu.ReceiveAsync();
            await qemu.SendAsync("{\"return\": \"" + new string('x', QmpClient.MaxLineBytes + 10) + "\"}");
        });

        var e = await Assert.ThrowsAsync<QmpException>(() => client.ExecuteAsync("query-status", null, TestLabs.Ct));
        Assert.Contains("closed the QMP connection", e.Message);
    }

    public ValueTask DisposeAsync()
    {
        _listener.Dispose();
        File.Delete(_path);
        return ValueTask.CompletedTask;
    }

    /// <summary>QEMU's side: JSON lines ending in CRLF, as QEMU writes them.</summary>
    private sealed class FakeQemu(NetworkStream stream) : IDisposable
    {
        private readonly StreamReader _reader = new(stream, Encoding.UTF8);

        public async Task SendAsync(string json) => await stream.WriteAsync(Encoding.UTF8.GetBytes(json + "\r\n"), TestLabs.Ct);

        public async Task<JsonNode> ReceiveAsync() => JsonNode.Parse((await _reader.ReadLineAsync(TestLabs.Ct))!)!;

        public void Close() => stream.Socket.Shutdown(SocketShutdown.Both);

        public void Dispose() => _reader.Dispose();
    }
}
