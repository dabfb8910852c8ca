namespace Ltb.Runtime.Nodes.Vm;

/// <summary>
/// Joins each interface the wiring put into a VM node's namespace (eth0 from the management network, ethN of links)
/// to the tap of the same number that QEMU opened there, with a tc redirect each way (ingress of one, egress of the
/// other): every frame crosses untouched, link-local ones too (LLDP, LACP, STP, which a Linux bridge would hold back),
/// and the namespace's own IP stack never sees them. So links of every type and backend reach a VM unchanged.
/// </summary>
public static class VmTaps
{
    /// <summary>The ethN interfaces as numbers (eth0 = the management interface); other names are not a VM's.</summary>
    public static int? Index(string iface) =>
        iface.StartsWith("eth", StringComparison.Ordinal) && int.TryParse(iface.AsSpan(3), System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out var n) && iface == $"eth{n}" ? n : null;

    /// <summary>
    /// <c>ip</c> lines for the namespace: the taps up, and the interfaces' addresses gone (the management interface's
    /// addresses are the guest's: the namespace must not answer for them).
    /// </summary>
    public static IEnumerable<string> IpLines(IEnumerable<string> interfaces)
    {
        foreach (var iface in interfaces)
        {
            if (Index(iface) is { } n)
            {
                yield return $"link set {QemuCommandLine.Tap(n)} up";
                yield return $"addr flush dev {iface}";
            }
        }
    }

    /// <summary><c>tc</c> lines removing earlier redirects (run with -force: there may be none).</summary>
    public static IEnumerable<string> TcRemoveLines(IEnumerable<string> interfaces) =>
        Pairs(interfaces).Select(p => $"qdisc del dev {p.From} ingress");

    /// <summary><c>tc</c> lines redirecting every frame of each interface to its tap, and back.</summary>
    public static IEnumerable<string> TcAddLines(IEnumerable<string> interfaces) =>
        Pairs(interfaces).SelectMany(p => new[]
        {
            $"qdisc add dev {p.From} handle ffff: ingress",
            $"filter add dev {p.From} parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev {p.To}",
        });

    private static IEnumerable<(string From, string To)> Pairs(IEnumerable<string> interfaces) =>
        interfaces.Where(i => Index(i) is not null).SelectMany(i => new[] { (i, QemuCommandLine.Tap(Index(i)!.Value)), (QemuCommandLine.Tap(Index(i)!.Value), i) });
}
