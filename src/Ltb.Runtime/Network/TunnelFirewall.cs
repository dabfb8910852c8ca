using System.Net;
using System.Net.Sockets;
using Ltb.Runtime.Nodes;
using Ltb.Runtime.Plan;

namespace Ltb.Runtime.Network;

/// <summary>
/// Keeps nodes out of the VXLAN tunnels of labs that span hosts. A tunnel's UDP socket lives in the host's namespace
/// and takes any packet to its port with the right VNI, so a node that sends VXLAN itself (any node with NET_ADMIN can
/// make a vxlan device) to its host's address, or through its host to a peer host, would inject frames into another
/// lab. Two kinds of rules close that, both commented for removal (iptables, ip6tables for IPv6 peers):
/// <list type="bullet">
/// <item>INPUT jumps UDP to the chain <c>LTB-VXLAN</c>: per lab and peer a RETURN for the peer's address and the tunnel
/// port (comment <c>ltb/LAB/vxlan/PEER/PORT</c>; RETURN hands the packet back to the host's own rules), then per port a
/// DROP of everything else (comment <c>ltb-vxlan-guard/PORT</c>).</item>
/// <item>The forward chain (DOCKER-USER, else FORWARD) drops packets to a peer's tunnel port (comment
/// <c>ltb-vxlan-guard/PEER/PORT</c>): a node's packet routed (and masqueraded) by its host would otherwise arrive at
/// the peer from an address the peer trusts. The host's own tunnel traffic is sent, not forwarded.</item>
/// </list>
/// <see cref="SyncAsync"/> makes a lab's peer rules what its links need (one iptables-restore --noflush per family) and
/// removes the shared rules that no lab needs any more; it is idempotent.
/// </summary>
public static class TunnelFirewall
{
    public const string Chain = "LTB-VXLAN";
    private const string JumpComment = "ltb-vxlan";
    private const string GuardPrefix = "ltb-vxlan-guard/";
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>Makes <paramref name="lab"/>'s peer rules exactly <paramref name="peers"/> (empty: none), with the guards they need.</summary>
    public static async Task SyncAsync(IHostNetwork net, string lab, IReadOnlyList<(string Peer, int Port)> peers, CancellationToken ct)
    {
        await Gate.WaitAsync(ct);
        try
        {
            foreach (var v6 in new[] { false, true })
            {
                var mine = peers.Where(p => IPAddress.Parse(p.Peer).AddressFamily == (v6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork)).ToList();
                await SyncFamilyAsync(net, lab, mine, v6, ct);
            }
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task SyncFamilyAsync(IHostNetwork net, string lab, List<(string Peer, int Port)> peers, bool v6, CancellationToken ct)
    {
        var tool = v6 ? "ip6tables" : "iptables";
        IReadOnlyList<string>? chain;
        try
        {
            chain = await RulesAsync(net, tool, Chain, ct);
        }
        catch (HostNetworkException) when (peers.Count == 0)
        {
            return; // no firewall tool, and nothing to filter
        }
        catch (HostNetworkException e)
        {
            throw new HostNetworkException($"VXLAN tunnels need {tool} to keep nodes out of them (the tunnel port is filtered to the peer hosts): {e.Message}", e.Result);
        }
        if (chain is null && peers.Count == 0)
        {
            return; // nothing of ours here, nothing wanted
        }
        var forwardChain = await RulesAsync(net, tool, "DOCKER-USER", ct) is null ? "FORWARD" : "DOCKER-USER";
        var forward = await RulesAsync(net, tool, forwardChain, ct) ?? [];
        var input = await RulesAsync(net, tool, "INPUT", ct) ?? [];
        var prefix = $"{Names.AliasPrefix(lab)}vxlan/";
        var host = v6 ? "/128" : "/32";
        var lines = new List<string> { "*filter" };
        var rules = chain ?? [];
        if (chain is null)
        {
            lines.Add($":{Chain} - [0:0]");
        }

        // This lab's peer rules: the unwanted ones go, the missing ones come (at the top, above the guards).
        var wanted = peers.ToDictionary(p => $"{prefix}{p.Peer}/{p.Port}", p => p);
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            if (Comment(rule) is { } c && c.StartsWith(prefix, StringComparison.Ordinal) && !(wanted.ContainsKey(c) && present.Add(c)))
            {
                lines.Add("-D " + rule[3..]);
            }
        }
        foreach (var (comment, (peer, port)) in wanted.Where(w => !present.Contains(w.Key)))
        {
            lines.Add($"-I {Chain} 1 -s {peer}{host} -p udp -m udp --dport {port} -m comment --comment {comment} -j RETURN");
        }

        // What every lab on this host needs after this change: the tunnel ports and the peers.
        var all = rules.Select(Comment).OfType<string>().Where(c => c.StartsWith("ltb/", StringComparison.Ordinal) && c.Contains("/vxlan/", StringComparison.Ordinal)
                && !c.StartsWith(prefix, StringComparison.Ordinal))
            .Select(c => c[(c.IndexOf("/vxlan/", StringComparison.Ordinal) + 7)..]).Concat(wanted.Keys.Select(k => k[prefix.Length..]))
            .Select(Split).OfType<(string Peer, int Port)>().ToHashSet();
        var ports = all.Select(p => p.Port).ToHashSet();
        Guards(lines, rules, Chain, ports.Select(p => ($"{GuardPrefix}{p}", $"-A {Chain} -p udp -m udp --dport {p} -m comment --comment {GuardPrefix}{p} -j DROP")));
        Guards(lines, forward, forwardChain, all.Select(p => ($"{GuardPrefix}{p.Peer}/{p.Port}",
            $"-I {forwardChain} 1 -d {p.Peer}{host} -p udp -m udp --dport {p.Port} -m comment --comment {GuardPrefix}{p.Peer}/{p.Port} -j DROP")));
        var jump = input.FirstOrDefault(r => Comment(r) == JumpComment);
        if (all.Count > 0 && jump is null)
        {
            lines.Add($"-I INPUT 1 -p udp -m comment --comment {JumpComment} -j {Chain}");
        }
        var drop = all.Count == 0;
        if (drop && jump is not null)
        {
            lines.Add("-D " + jump[3..]);
        }
        if (lines.Count == 1)
        {
            return; // already as wanted
        }
        lines.Add("COMMIT");
        if (drop)
        {
            // A chain goes only once nothing jumps to it, hence a second transaction.
            lines.AddRange(["*filter", $"-X {Chain}", "COMMIT"]);
        }
        var r = await net.RunAsync(tool + "-restore", ["-w", "5", "--noflush"], string.Join('\n', lines) + "\n", null, ct);
        if (!r.Succeeded)
        {
            throw new HostNetworkException($"{tool}-restore (filtering the VXLAN tunnel port to the peer hosts) failed: {r.Stderr.Trim()}", r);
        }
    }

    /// <summary>Adds the wanted guard rules that are missing and deletes the ones (of this kind, in this chain) no longer wanted.</summary>
    private static void Guards(List<string> lines, IReadOnlyList<string> rules, string chain, IEnumerable<(string Comment, string Rule)> wanted)
    {
        var want = wanted.ToDictionary(w => w.Comment, w => w.Rule, StringComparer.Ordinal);
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            // Port guards in our chain have one '/', peer guards in the forward chain two: each call sees its own kind.
            if (Comment(rule) is { } c && c.StartsWith(GuardPrefix, StringComparison.Ordinal)
                && (chain == Chain) == !c[GuardPrefix.Length..].Contains('/', StringComparison.Ordinal)
                && !(want.ContainsKey(c) && present.Add(c)))
            {
                lines.Add("-D " + rule[3..]);
            }
        }
        lines.AddRange(want.Where(w => !present.Contains(w.Key)).Select(w => w.Value));
    }

    private static (string, int)? Split(string peerPort)
    {
        var slash = peerPort.LastIndexOf('/');
        return slash > 0 && int.TryParse(peerPort[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var port)
            ? (peerPort[..slash], port)
            : null;
    }

    /// <summary>The rules of a chain as <c>-S</c> prints them (<c>-A CHAIN ...</c>); null when the chain does not exist.</summary>
    private static async Task<IReadOnlyList<string>?> RulesAsync(IHostNetwork net, string tool, string chain, CancellationToken ct)
    {
        var r = await net.RunAsync(tool, ["-w", "5", "-S", chain], null, null, ct);
        return r.Succeeded
            ? r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => l.StartsWith("-A ", StringComparison.Ordinal)).ToList()
            : null;
    }

    /// <summary>A rule's comment (iptables prints it quoted or not, depending on its version).</summary>
    private static string? Comment(string rule)
    {
        var at = rule.IndexOf("--comment ", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }
        var rest = rule[(at + 10)..];
        return rest.StartsWith('"') ? rest[1..rest.IndexOf('"', 1)] : rest.Split(' ')[0];
    }
}
