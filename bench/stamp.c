/* The service program of the benchmarks' start, restart and scale rows: as little as a process
 * can be, so that what is measured is the supervisor, not the service. Linked statically (no
 * dynamic loader, no libraries to map): its exec costs what an exec costs.
 *
 *   stamp [--start-file FILE]
 *
 * Appends "<pid> <CLOCK_MONOTONIC ns>\n" to FILE (one write, O_APPEND, so lines of many copies
 * never mix), then waits for a signal; SIGTERM (or any signal left at its default) ends it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
    const char* file = NULL;
    for (int i = 1; i + 1 < argc; ++i) {
        if (strcmp(argv[i], "--start-file") == 0) file = argv[i + 1];
    }
    if (file != NULL) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        char line[64];
        const int n = snprintf(line, sizeof line, "%d %lld\n", (int)getpid(), (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
        const int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
            if (write(fd, line, (size_t)n) != n) return 1;
            close(fd);
        }
    }
    for (;;) pause();
}
