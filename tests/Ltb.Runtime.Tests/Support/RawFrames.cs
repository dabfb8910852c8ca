using System.Runtime.InteropServices;
using System.Text;

namespace Ltb.Runtime.Tests.Support;

/// <summary>
/// An AF_PACKET socket bound to one interface inside a pinned network namespace, opened from the test process (the
/// images have no frame generator): a dedicated thread enters the namespace with setns, opens the socket (a socket
/// stays in the namespace it was created in) and returns to the host's namespace.
/// </summary>
public sealed partial class RawFrames : IDisposable
{
    private const int AfPacket = 17;
    private const int SockRaw = 3;
    private const ushort EthPAll = 0x0003;
    private const int CloneNewNet = 0x40000000;
    private readonly int _fd;
    private readonly int _ifindex;

    private RawFrames(int fd, int ifindex) => (_fd, _ifindex) = (fd, ifindex);

    public static RawFrames Open(string netnsPath, string iface)
    {
        (int, int)? result = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var self = File.OpenHandle("/proc/thread-self/ns/net");
                using var target = File.OpenHandle(netnsPath);
                Check(setns((int)target.DangerousGetHandle(), CloneNewNet), "setns");
                try
                {
                    var fd = Check(socket(AfPacket, SockRaw, Htons(EthPAll)), "socket");
                    var index = (int)if_nametoindex(iface);
                    if (index == 0)
                    {
                        throw new InvalidOperationException($"no interface {iface} in {netnsPath}");
                    }
                    var addr = new SockaddrLl { Family = AfPacket, Protocol = Htons(EthPAll), IfIndex = index };
                    Check(bind(fd, ref addr, Marshal.SizeOf<SockaddrLl>()), "bind");
                    var tv = new Timeval { Sec = 0, Usec = 200_000 };
                    Check(setsockopt(fd, 1, 20, ref tv, Marshal.SizeOf<Timeval>()), "setsockopt SO_RCVTIMEO");
                    result = (fd, index);
                }
                finally
                {
                    Check(setns((int)self.DangerousGetHandle(), CloneNewNet), "setns back");
                }
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            throw error;
        }
        return new RawFrames(result!.Value.Item1, result.Value.Item2);
    }

    /// <summary>An Ethernet frame to <paramref name="dst"/> with the marker in its payload (802.3 length + LLC when ethertype is null).</summary>
    public static byte[] Frame(byte[] dst, byte[] src, ushort? ethertype, string marker)
    {
        var payload = Encoding.ASCII.GetBytes(marker.PadRight(46));
        var frame = new List<byte>();
        frame.AddRange(dst);
        frame.AddRange(src);
        if (ethertype is { } t)
        {
            frame.Add((byte)(t >> 8));
            frame.Add((byte)t);
            frame.AddRange(payload);
        }
        else
        {
            var len = payload.Length + 3;
            frame.Add((byte)(len >> 8));
            frame.Add((byte)len);
            frame.AddRange([0x42, 0x42, 0x03]);
            frame.AddRange(payload);
        }
        return frame.ToArray();
    }

    public void Send(byte[] frame)
    {
        var n = send(_fd, frame, frame.Length, 0);
        if (n != frame.Length)
        {
            throw new InvalidOperationException($"send failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Waits until a received frame contains <paramref name="marker"/>; returns it, or null at the deadline.</summary>
    public byte[]? Receive(string marker, TimeSpan timeout)
    {
        var needle = Encoding.ASCII.GetBytes(marker);
        var buf = new byte[65536];
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var n = recv(_fd, buf, buf.Length, 0);
            if (n > 0 && buf.AsSpan(0, (int)n).IndexOf(needle) >= 0)
            {
                return buf[..(int)n];
            }
        }
        return null;
    }

    public void Dispose() => close(_fd);

    private static int Check(int rc, string what) =>
        rc >= 0 ? rc : throw new InvalidOperationException($"{what} failed: errno {Marshal.GetLastPInvokeError()}");

    private static ushort Htons(ushort v) => (ushort)((v << 8) | (v >> 8));

    [StructLayout(LayoutKind.Sequential)]
    private struct SockaddrLl
    {
        public ushort Family;
        public ushort Protocol;
        public int IfIndex;
        public ushort HaType;
        public byte PktType;
        public byte HaLen;
        public ulong Addr;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timeval
    {
        public long Sec;
        public long Usec;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint if_nametoindex(string name);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int bind(int fd, ref SockaddrLl addr, int len);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setsockopt(int fd, int level, int name, ref Timeval value, int len);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint send(int fd, byte[] buf, nint len, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recv(int fd, byte[] buf, nint len, int flags);
}
