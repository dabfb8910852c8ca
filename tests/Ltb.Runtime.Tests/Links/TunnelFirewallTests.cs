using Ltb.Runtime.Network;
using Ltb.Runtime.Tests.Support;
using Ltb.Testing;

namespace Ltb.Runtime.Tests.Links;

/// <summary>
/// The VXLAN tunnel filter's rules in a network namespace of their own (its own iptables tables, so the machine's are
/// untouched): two labs share a peer, each adds and removes its own rules, the shared guards stay while one lab needs
/// them and everything of LTB's goes with the last. What the rules stop is proved on real packets by
/// SpanningLabTests.A_node_cannot_inject_frames_into_another_labs_tunnel.
/// </summary>
public sealed class TunnelFirewallTests
{
    [Fact]
    public async Task Peer_rules_per_lab_shared_guards_while_needed_idempotent_and_nothing_left_after_the_last_lab()
    {
        Prerequisite.RequireRoot();
        Prerequisite.RequireCommand("iptables");
        Prerequisite.RequireCommand("iptables-restore");
        var ns = $"ltbfw-{Guid.NewGuid():N}"[..12];
        var host = new HostNetwork();
        await host.IpBatchAsync(null, [$"netns add {ns}"], false, TestLabs.Ct);
        var net = new InNamespace(host, ns);
        try
        {
            await TunnelFirewall.SyncAsync(net, "la", [("10.9.0.2", 4789), ("10.9.0.3", 4789)], TestLabs.Ct);
            var first = await RulesAsync(net);
            Assert.Equal(2, Count(first.Chain, "-j RETURN"));
            Assert.NotNull(first.Chain);
            Assert.Single(first.Chain, r => r.Contains("--dport 4789", StringComparison.Ordinal) && r.EndsWith("-j DROP", StringComparison.Ordinal));
            Assert.True(first.Chain[^1].EndsWith("-j DROP", StringComparison.Ordinal), "the port's DROP must come after the peers' RETURNs");
            Assert.Single(first.Input, r => r.Contains($"-j {TunnelFirewall.Chain}", StringComparison.Ordinal));
            Assert.Equal(2, Count(first.Forward, "-j DROP"));
            Assert.Contains(first.Forward, r => r.Contains("-d 10.9.0.2/32", StringComparison.Ordinal) && r.Contains("--dport 4789", StringComparison.Ordinal));

            // Again: nothing changes (no rule twice).
            await TunnelFirewall.SyncAsync(net, "la", [("10.9.0.2", 4789), ("10.9.0.3", 4789)], TestLabs.Ct);
            Assert.Equal(first, await RulesAsync(net));

            // A second lab with one of the peers and another port.
            await TunnelFirewall.SyncAsync(net, "lb", [("10.9.0.2", 4789), ("10.9.0.2", 4790)], TestLabs.Ct);
            var both = await RulesAsync(net);
            Assert.Equal(4, Count(both.Chain, "-j RETURN"));
            Assert.Equal(2, Count(both.Chain, "-j DROP"));
            Assert.Equal(3, Count(both.Forward, "-j DROP")); // .2:4789 once for both labs, .3:4789, .2:4790

            // The first lab goes: its peer rules go, the guards of what the second still needs stay.
            await TunnelFirewall.SyncAsync(net, "la", [], TestLabs.Ct);
            var second = await RulesAsync(net);
            Assert.Equal(2, Count(second.Chain, "-j RETURN"));
            Assert.DoesNotContain(second.Chain ?? [], r => r.Contains("ltb/la/", StringComparison.Ordinal));
            Assert.Equal(2, Count(second.Forward, "-j DROP"));
            Assert.DoesNotContain(second.Forward, r => r.Contains("10.9.0.3", StringComparison.Ordinal));

            // The last lab goes: no chain, no jump, no guard.
            await TunnelFirewall.SyncAsync(net, "lb", [], TestLabs.Ct);
            var none = await RulesAsync(net);
            Assert.Null(none.Chain);
            Assert.DoesNotContain(none.Input, r => r.Contains("ltb", StringComparison.Ordinal));
            Assert.DoesNotContain(none.Forward, r => r.Contains("ltb", StringComparison.Ordinal));
        }
        finally
        {
            await host.RunAsync("ip", ["netns", "delete", ns], null, null, CancellationToken.None);
        }
    }

    private static int Count(IReadOnlyList<string>? rules, string end) => rules?.Count(r => r.EndsWith(end, StringComparison.Ordinal)) ?? 0;

    private sealed record Rules(IReadOnlyList<string>? Chain, IReadOnlyList<string> Input, IReadOnlyList<string> Forward)
    {
        public bool Equals(Rules? other) => other is not null && string.Join('\n', Chain ?? []) == string.Join('\n', other.Chain ?? [])
            && Input.SequenceEqual(other.Input) && Forward.SequenceEqual(other.Forward);

        public override int GetHashCode() => 0;
    }

    private static async Task<Rules> RulesAsync(IHostNetwork net)
    {
        async Task<IReadOnlyList<string>?> Chain(string name)
        {
            var r = await net.RunAsync("iptables", ["-S", name], null, null, TestLabs.Ct);
            return r.Succeeded ? r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("-A ", StringComparison.Ordinal)).ToList() : null;
        }
        return new Rules(await Chain(TunnelFirewall.Chain), await Chain("INPUT") ?? [], await Chain("FORWARD") ?? []);
    }

    /// <summary>The host network of a namespace: the firewall commands run inside it.</summary>
    private sealed class InNamespace(HostNetwork host, string ns) : IHostNetwork
    {
        public Task IpBatchAsync(string? netns, IReadOnlyList<string> lines, bool force, CancellationToken ct) => host.IpBatchAsync(netns ?? ns, lines, force, ct);
        public Task TcBatchAsync(string? netns, IReadOnlyList<string> lines, bool force, CancellationToken ct) => host.TcBatchAsync(netns ?? ns, lines, force, ct);
        public Task<IReadOnlyList<Network.HostLink>> ListLinksAsync(string? netns, CancellationToken ct) => host.ListLinksAsync(netns ?? ns, ct);
        public IReadOnlyList<string> ListNamespaces() => host.ListNamespaces();
        public Task<IReadOnlyList<Status.InterfaceDetails>> ReadInterfacesAsync(string netns, CancellationToken ct) => host.ReadInterfacesAsync(netns, ct);
        public Task<string> OvsVsctlAsync(IReadOnlyList<IReadOnlyList<string>> commands, CancellationToken ct) => throw new NotSupportedException();
        public Task OvsAddFlowsAsync(string bridge, IReadOnlyList<string> flows, CancellationToken ct) => throw new NotSupportedException();
        public Task<bool> SupportsLinkKindAsync(string kind, CancellationToken ct) => host.SupportsLinkKindAsync(kind, ct);
        public Task<bool> OvsAvailableAsync(CancellationToken ct) => Task.FromResult(false);
        public Task AllowBridgedAsync(IReadOnlyList<(string Bridge, string Comment)> bridges, CancellationToken ct) => Task.CompletedTask;
        public Task RemoveFirewallRulesAsync(string commentPrefix, CancellationToken ct) => Task.CompletedTask;
        public Task<ProcessResult> RunAsync(string file, IReadOnlyList<string> args, string? stdin, TimeSpan? timeout, CancellationToken ct) =>
            host.RunAsync("nsenter", [$"--net=/run/netns/{ns}", "--", file, .. args], stdin, timeout, ct);
    }
}
