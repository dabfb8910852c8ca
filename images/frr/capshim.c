/*
 * Preloaded into every process of the LTB FRR image (/etc/ld.so.preload). FRR's daemons ask for a fixed set of
 * capabilities at start (zebra, ospfd, bgpd...: NET_ADMIN, NET_RAW, SYS_ADMIN) and exit when cap_set_proc cannot give
 * them one. SYS_ADMIN serves FRR only for network namespaces as VRFs (netns VRF backend), which labs do not use, and in
 * a container it is the capability that opens the way to the host (mount, cgroup release_agent). LTB's nodes therefore
 * run without it: this wrapper drops, from every capability set a process asks for, what the container's bounding set
 * does not hold, so the daemons run with what they have. Nothing else changes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/prctl.h>

typedef struct _cap_struct *cap_t;
/* libcap's ABI (sys/capability.h): flags 0 effective, 1 permitted, 2 inheritable; value 0 clears. */
extern int cap_set_flag(cap_t, int, int, const int *, int) __attribute__((weak));

int cap_set_proc(cap_t caps)
{
    static int (*real)(cap_t);
    if (!real)
        real = (int (*)(cap_t))dlsym(RTLD_NEXT, "cap_set_proc");
    if (caps && cap_set_flag) {
        for (int c = 0; c < 64; c++) {
            int in = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
            if (in < 0)
                break; /* past the last capability this kernel knows */
            if (in == 0)
                for (int flag = 0; flag <= 2; flag++)
                    cap_set_flag(caps, flag, 1, &c, 0);
        }
    }
    return real ? real(caps) : -1;
}
