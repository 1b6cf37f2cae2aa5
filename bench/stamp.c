/* The service program of the benchmarks' start, restart, scale and chain rows: as little as a
 * process can be, so that what is measured is the supervisor, not the service. Linked
 * statically (no dynamic loader, no libraries to map): its exec costs what an exec costs.
 *
 *   stamp [--start-file FILE] [--listen PORT]
 *
 * Appends "<pid> <CLOCK_MONOTONIC ns>\n" to FILE (one write, O_APPEND, so lines of many copies
 * never mix); with --listen, listens on 127.0.0.1:PORT and accepts (and closes) connections, a
 * tcp readiness probe's whole need; then waits for a signal. SIGTERM (or any signal left at its
 * default) ends it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
    const char* file = NULL;
    int port = 0;
    for (int i = 1; i + 1 < argc; ++i) {
        if (strcmp(argv[i], "--start-file") == 0) file = argv[i + 1];
        if (strcmp(argv[i], "--listen") == 0) port = atoi(argv[i + 1]);
    }
    if (file != NULL) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        char line[64];
        const int n =
            snprintf(line, sizeof line, "%d %lld\n", (int)getpid(), (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
        const int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
            if (write(fd, line, (size_t)n) != n) return 1;
            close(fd);
        }
    }
    if (port > 0 && port < 65536) {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((unsigned short)port);
        if (fd < 0 || bind(fd, (struct sockaddr*)&a, sizeof a) != 0 || listen(fd, 64) != 0) return 2;
        for (;;) {
            const int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0) close(c);
        }
    }
    for (;;) pause();
}
