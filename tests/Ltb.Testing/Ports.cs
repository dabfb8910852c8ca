namespace Ltb.Testing;

/// <summary>Ports for the processes and stacks a test starts.</summary>
public static class Ports
{
    /// <summary>A TCP port free on loopback now (the OS's choice; released at once for the test's process to take).</summary>
    public static int Free()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }
}
