/*
 * What root in a lab node tries to reach the host with: built static by ContainmentTests (gcc -static), copied into a
 * node and run there. One line per attempt, "NAME: allowed" or "NAME: refused: ERRNO-TEXT"; exit code 0 when every
 * attempt was refused, 1 otherwise. "hog" allocates and touches memory until killed (a memory limit must stop it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int allowed;

static void report(const char *name, int rc)
{
    if (rc == 0) {
        allowed = 1;
        printf("%s: allowed\n", name);
    } else {
        printf("%s: refused: %s\n", name, strerror(errno));
    }
}

/* Like the "shocker" escape: a handle to inode 2 (the root folder of an ext4/xfs filesystem), opened relative to a
 * file Docker bind-mounts from the host's filesystem (/etc/hosts). Needs CAP_DAC_READ_SEARCH in the initial namespace. */
static int open_host_root_by_handle(void)
{
    struct { struct file_handle h; unsigned char bytes[8]; } fh;
    memset(&fh, 0, sizeof fh);
    fh.h.handle_bytes = 8;
    fh.h.handle_type = 1;
    fh.bytes[0] = 2; /* inode 2, generation 0 */
    int mount_fd = open("/etc/hosts", O_RDONLY);
    if (mount_fd < 0)
        return -1;
    int fd = open_by_handle_at(mount_fd, &fh.h, O_RDONLY);
    close(mount_fd);
    if (fd >= 0)
        close(fd);
    return fd >= 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "hog") == 0) {
        for (;;) {
            char *p = malloc(1 << 20);
            if (!p)
                return 2;
            memset(p, 1, 1 << 20);
        }
    }
    mkdir("/tmp/probe", 0700);
    report("mount cgroup", mount("cgroup", "/tmp/probe", "cgroup", 0, "memory"));
    report("mount cgroup2", mount("cgroup2", "/tmp/probe", "cgroup2", 0, NULL));
    report("mount proc", mount("proc", "/tmp/probe", "proc", 0, NULL));
    report("mount sysfs", mount("sysfs", "/tmp/probe", "sysfs", 0, NULL));
    report("remount /proc/sys rw", mount(NULL, "/proc/sys", NULL, MS_REMOUNT | MS_BIND, NULL));
    report("load module", (int)syscall(SYS_init_module, "", 0UL, ""));
    report("open host file by handle", open_host_root_by_handle());
    report("write /proc/sysrq-trigger", open("/proc/sysrq-trigger", O_WRONLY) >= 0 ? 0 : -1);
    return allowed;
}
