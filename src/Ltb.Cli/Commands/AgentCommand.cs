using System.CommandLine;
using System.Net;
using Ltb.Agent.Remote;

namespace Ltb.Cli.Commands;

/// <summary>`ltb agent`: this machine as a remote lab host of a controller (`ltb serve` elsewhere).</summary>
internal static class AgentCommand
{
    public const int DefaultPort = 7443;

    public static Command Create()
    {
        var controller = new Option<string>("--controller") { Description = "The controller's URL, e.g. https://ltb.example.org [env LTB_CONTROLLER]" };
        var token = new Option<string>("--token")
        {
            Description = "The host token an admin created (POST /api/v1/hosts/tokens) [env LTB_HOST_TOKEN, which other users cannot read in the process list]",
        };
        var name = new Option<string>("--name") { Description = "This host's name at the controller [default: the machine's host name]" };
        var listen = new Option<string>("--listen") { Description = $"ADDRESS:PORT the gRPC endpoint listens on [default 127.0.0.1:{DefaultPort}]" };
        var advertise = new Option<string>("--advertise") { Description = "The URL the controller reaches this agent at [default: from --listen]" };
        var data = new Option<string>("--data") { Description = "Data folder (lab state, lab files) [env LTB_AGENT_DATA; default ~/.local/share/ltb-agent]" };
        var cert = new Option<string>("--cert") { Description = "PEM certificate for TLS (docs/operations.md: issuing agent certificates)" };
        var key = new Option<string>("--key") { Description = "PEM private key of --cert" };
        var controllerCa = new Option<string>("--controller-ca") { Description = "PEM CA file the controller's HTTPS certificate chains to [default: system trust]" };
        var insecure = new Option<bool>("--insecure") { Description = "Plain HTTP/2 on a non-loopback address: isolated test networks only" };
        var tunnel = new Option<string>("--tunnel-address")
        {
            Description = "The IP other lab hosts send this host's VXLAN traffic to (labs that span hosts) [default: the IP of --advertise or --listen]",
        };
        var labels = new Option<string[]>("--label") { Description = "A label KEY=VALUE of this host (repeat)", AllowMultipleArgumentsPerToken = false };
        var agent = new Command("agent", "Run this machine as a lab host of a controller: register, report capacity and labs, and carry out " +
            "the controller's deployments. It accepts commands only from the controller it registered with.")
        {
            controller, token, name, listen, advertise, data, cert, key, controllerCa, insecure, labels, tunnel,
        };
        agent.SetAction(async (parse, ct) =>
        {
            using var signals = StopSignals.Announce("ltb agent");
            var controllerUrl = parse.GetValue(controller) ?? Env("LTB_CONTROLLER");
            var secret = parse.GetValue(token) ?? Env("LTB_HOST_TOKEN");
            if (SettingChecks.CalledUrl("--controller (LTB_CONTROLLER)", controllerUrl, "https://ltb.example.org") is { } controllerError)
            {
                return Fail(controllerError);
            }
            var controllerUri = new Uri(controllerUrl!.TrimEnd('/') + "/");
            if (secret is null)
            {
                return Fail("give the host token with LTB_HOST_TOKEN (or --token); an admin creates one with POST /api/v1/hosts/tokens");
            }
            var listenText = parse.GetValue(listen) ?? $"127.0.0.1:{DefaultPort}";
            if (!IPEndPoint.TryParse(listenText, out var endpoint) || endpoint.Port == 0)
            {
                return Fail($"--listen '{listenText}' is not ADDRESS:PORT with a port 1-65535 (e.g. 0.0.0.0:{DefaultPort}, or [::]:{DefaultPort})");
            }
            Uri? advertiseUri = null;
            if (parse.GetValue(advertise) is { } a)
            {
                if (SettingChecks.CalledUrl("--advertise", a, "https://rack1-a.example.org:7443") is { } advertiseError)
                {
                    return Fail(advertiseError);
                }
                advertiseUri = new Uri(a);
            }
            if (SettingChecks.CertificateAndKey(parse.GetValue(cert), parse.GetValue(key)) is { } tlsError)
            {
                return Fail(tlsError);
            }
            if (parse.GetValue(controllerCa) is { } caFile && SettingChecks.CaFile("--controller-ca", caFile) is { } caError)
            {
                return Fail(caError);
            }
            System.Net.IPAddress? tunnelAddress = null;
            if (parse.GetValue(tunnel) is { } ta && !System.Net.IPAddress.TryParse(ta, out tunnelAddress))
            {
                return Fail($"--tunnel-address '{ta}' is not an IP address");
            }
            var labelMap = new Dictionary<string, string>();
            foreach (var pair in parse.GetValue(labels) ?? [])
            {
                if (pair.Split('=', 2) is not [var k, var v] || k.Length == 0)
                {
                    return Fail($"--label '{pair}' is not KEY=VALUE");
                }
                labelMap[k] = v;
            }
            var dataDirectory = parse.GetValue(data) ?? Env("LTB_AGENT_DATA") ?? Path.Combine(
                Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "ltb-agent");
            if (SettingChecks.WritableFolder("--data (LTB_AGENT_DATA)", dataDirectory) is { } dataError)
            {
                return Fail(dataError);
            }
            var options = new AgentOptions
            {
                Controller = controllerUri,
                Token = secret,
                Name = parse.GetValue(name) ?? Dns.GetHostName().ToLowerInvariant(),
                Listen = endpoint,
                Advertise = advertiseUri,
                DataDirectory = dataDirectory,
                CertificateFile = parse.GetValue(cert),
                KeyFile = parse.GetValue(key),
                ControllerCaFile = parse.GetValue(controllerCa),
                Insecure = parse.GetValue(insecure),
                Labels = labelMap,
                TunnelAddress = tunnelAddress,
            };
            AgentHost host;
            try
            {
                host = await AgentHost.StartAsync(options, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return Fail($"the agent did not start: {e.GetBaseException().Message}");
            }
            await using (host)
            {
                Console.WriteLine($"LTB agent '{options.Name}' registered with {options.Controller} as host {host.HostId}; listening at {host.Address}");
                Console.Out.Flush();
                await host.WaitAsync(ct);
            }
            return 0;
        });
        return agent;
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 1;
    }
}
