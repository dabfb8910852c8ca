using System.CommandLine;
using System.Globalization;
using Ltb.Cli.Api;
using Ltb.Client;
using Ltb.Contracts;

namespace Ltb.Cli.Commands;

/// <summary>
/// `ltb capture LAB NODE:IFACE [NODE:IFACE...] [--mirror NAME...] [-f FILTER] [-c N] [--bytes N] [-w FILE|-]`: a live capture (GET
/// /api/v1/labs/{lab}/capture). With -w the pcapng stream goes to the file or, with `-w -`, to stdout (so
/// `ltb capture lab r1:eth1 -w - | wireshark -k -i -`); without, one line per packet, like tcpdump. Ctrl-C ends it.
/// </summary>
internal static class CaptureCommand
{
    public static Command Create(Argument<string> lab, Option<string> server)
    {
        var interfaces = new Argument<string[]>("NODE:IFACE") { Arity = ArgumentArity.ZeroOrMore, Description = "The interfaces to capture, e.g. router1:eth1." };
        var mirrors = new Option<string[]>("--mirror", "-m") { Description = "A mirror interface of the lab to capture (ltb lab mirror list); repeatable." };
        var bytes = new Option<long?>("--bytes") { Description = "Stop after this many bytes of packets." };
        var filter = new Option<string?>("--filter", "-f") { Description = "A capture filter (BPF, libpcap syntax as for tcpdump), e.g. 'icmp or ospf'." };
        var count = new Option<int?>("--count", "-c") { Description = "Stop after this many packets." };
        var seconds = new Option<int?>("--seconds") { Description = "Stop after this many seconds." };
        var snaplen = new Option<int?>("--snaplen", "-s") { Description = "Keep at most this many bytes of each packet." };
        var write = new Option<string?>("--write", "-w") { Description = "Write the pcapng stream to this file ('-': stdout, e.g. into `wireshark -k -i -`)." };
        var command = new Command("capture", "Capture a lab's interfaces live: pcapng to a file or Wireshark (-w), or one line per packet.")
        {
            lab, interfaces, mirrors, filter, count, seconds, bytes, snaplen, write, server,
        };
        command.SetAction((parse, ct) => LabCommands.Run(async () =>
        {
            using var client = ServerConnection.Connect(parse.GetValue(server));
            var query = new CaptureQuery(parse.GetValue(interfaces) ?? [], parse.GetValue(filter), parse.GetValue(snaplen), parse.GetValue(count),
                parse.GetValue(seconds), parse.GetValue(mirrors) ?? [], parse.GetValue(bytes));
            using var response = await client.OpenCaptureAsync(parse.GetValue(lab)!, query, ct);
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            try
            {
                await (parse.GetValue(write) is { } target ? CopyAsync(body, target, ct) : SummarizeAsync(body, ct));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl-C: leaving the stream ends the capture on the server.
            }
            return 0;
        }));
        return command;
    }

    private static async Task CopyAsync(Stream body, string target, CancellationToken ct)
    {
        await using var output = target == "-" ? Console.OpenStandardOutput() : File.Create(target);
        var buffer = new byte[64 * 1024];
        int read;
        // Flushed per piece: a Wireshark reading the pipe shows each packet as it comes.
        while ((read = await body.ReadAsync(buffer, ct)) > 0)
        {
            await output.WriteAsync(buffer.AsMemory(0, read), ct);
            await output.FlushAsync(ct);
        }
    }

    /// <summary>One line per packet (local time, interface, length), then each interface's statistics on stderr.</summary>
    private static async Task SummarizeAsync(Stream body, CancellationToken ct)
    {
        var names = new List<string>();
        await foreach (var block in new PcapngReader(body).ReadAsync(ct))
        {
            switch (block)
            {
                case PcapngInterface i:
                    names.Add(i.Name);
                    Console.Error.WriteLine($"ltb: capturing {i.Name}");
                    break;
                case PcapngPacket p:
                    var time = p.Time.ToLocalTime().ToString("HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
                    Console.WriteLine($"{time} {Name(names, p.InterfaceId)} length {p.OriginalLength}{(p.Data.Length < p.OriginalLength ? $" (captured {p.Data.Length})" : "")}");
                    break;
                case PcapngStatistics s:
                    Console.Error.WriteLine($"ltb: {Name(names, s.InterfaceId)}: {s.Comment}");
                    break;
            }
        }
    }

    private static string Name(List<string> names, int id) => id < names.Count ? names[id] : $"interface {id}";
}
