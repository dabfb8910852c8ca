using Ltb.Runtime.Network;

namespace Ltb.Runtime.Tests.Usage;

/// <summary>The kernel's interface figures as LTB reads them: <c>ip -json -s addr</c> and <c>/proc/PID/net/dev</c>.</summary>
public sealed class InterfaceReadingsTests
{
    [Fact]
    public void Proc_net_dev_gives_each_interface_its_receive_and_transmit_counters()
    {
        const string text = """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
              eth1: 1051234    1023    2    3    0     0          0         0  2049999    2001    4    5    0     0       0          0
            """;
        var counters = InterfaceReadings.ParseProcNetDev(text);
        Assert.Equal(["lo", "eth1"], counters.Keys);
        var eth1 = counters["eth1"];
        Assert.Equal((1051234UL, 1023UL, 2UL, 3UL), (eth1.RxBytes, eth1.RxPackets, eth1.RxErrors, eth1.RxDropped));
        Assert.Equal((2049999UL, 2001UL, 4UL, 5UL), (eth1.TxBytes, eth1.TxPackets, eth1.TxErrors, eth1.TxDropped));
    }

    [Fact]
    public void The_own_namespace_is_read_from_proc_and_ip_json_with_addresses_and_counters()
    {
        var own = InterfaceReadings.ReadProcNetDev(Environment.ProcessId);
        Assert.NotNull(own);
        Assert.Contains("lo", own.Keys);
        var parsed = InterfaceReadings.Parse("""
            [{"ifindex":5,"ifname":"eth3","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"operstate":"UP",
              "address":"aa:c1:ab:00:00:01","addr_info":[{"family":"inet","local":"192.168.11.1","prefixlen":24},
              {"family":"inet6","local":"fe80::1","prefixlen":64}],
              "stats64":{"rx":{"bytes":10,"packets":1,"errors":0,"dropped":2},"tx":{"bytes":20,"packets":3,"errors":0,"dropped":0}}}]
            """);
        var eth3 = Assert.Single(parsed);
        Assert.Equal(("eth3", "aa:c1:ab:00:00:01", 1500, "UP", true, true), (eth3.Name, eth3.Mac, eth3.Mtu, eth3.OperState, eth3.AdminUp, eth3.Carrier));
        Assert.Equal(["192.168.11.1/24", "fe80::1/64"], eth3.Addresses);
        Assert.Equal((10UL, 1UL, 2UL, 20UL, 3UL), (eth3.Counters!.RxBytes, eth3.Counters.RxPackets, eth3.Counters.RxDropped, eth3.Counters.TxBytes, eth3.Counters.TxPackets));
    }
}
