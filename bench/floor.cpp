// The floor: a supervisor as small as it gets, to show what the machine can do. Plain libc (no
// C++ library is linked in), so its memory is that of a minimal process.
//
//   floor_supervisor spawn N SERVICE [ARG...]
//       posix_spawn N copies of SERVICE ARG..., and on SIGCHLD waitpid and posix_spawn the one
//       that ended again at once. Nothing else: no output capture, no state, no backoff.
//   floor_supervisor probe SERVICE PORT...
//       one `SERVICE --listen PORT` per port (respawned like above), and every second a TCP
//       connect to each port (non-blocking, all at once, then closed): the work of one tcp probe
//       per service per second, nothing else.
//   floor_supervisor chain INTERVAL_MS SERVICE PORT...
//       starts `SERVICE --listen PORT` for the first port, connects to it at once and then every
//       INTERVAL_MS until it accepts, then starts the next; prints "all ready" when the last one
//       accepts (a chain of dependent services with a tcp readiness probe, nothing else).
// SIGTERM (or SIGINT): SIGTERM to every child it started, wait for them, exit 0.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

namespace {

constexpr int kMax = 20000;
pid_t g_child[kMax];
char** g_argv[kMax];
int g_count = 0;
posix_spawnattr_t g_attr;
sigset_t g_handled;

void spawn(int i) {
    if (posix_spawn(&g_child[i], g_argv[i][0], nullptr, &g_attr, g_argv[i], environ) != 0) g_child[i] = -1;
}

[[noreturn]] void stop_all() {
    for (int i = 0; i < g_count; ++i) {
        if (g_child[i] > 1) kill(g_child[i], SIGTERM);
    }
    while (wait(nullptr) > 0 || errno == EINTR) {
    }
    _exit(0);
}

// Reaps what ended and respawns it; false when asked to stop.
bool handle(int sig) {
    if (sig == SIGTERM || sig == SIGINT) return false;
    if (sig != SIGCHLD) return true;
    for (pid_t pid; (pid = waitpid(-1, nullptr, WNOHANG)) > 0;) {
        for (int i = 0; i < g_count; ++i) {
            if (g_child[i] == pid) {
                spawn(i);
                break;
            }
        }
    }
    return true;
}

// Waits for a signal up to `timeout_ms` (-1: forever) and handles it; false when asked to stop.
bool wait_signal(long timeout_ms) {
    int sig;
    if (timeout_ms < 0) {
        sig = sigwaitinfo(&g_handled, nullptr);
    } else {
        timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1000000};
        sig = sigtimedwait(&g_handled, nullptr, &ts);
    }
    return sig < 0 || handle(sig);
}

long long now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int connect_start(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

// Connects to every port at once; returns how many accepted (within 1 s).
int probe_all(const int* ports, int n) {
    static pollfd fds[kMax];
    for (int i = 0; i < n; ++i) fds[i] = {connect_start(ports[i]), POLLOUT, 0};
    int ok = 0;
    const long long deadline = now_ms() + 1000;
    for (int pending = n; pending > 0 && now_ms() < deadline;) {
        if (poll(fds, static_cast<nfds_t>(n), 100) <= 0) continue;
        for (int i = 0; i < n; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(fds[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
            ok += err == 0;
            close(fds[i].fd);
            fds[i].fd = -1;
            --pending;
        }
    }
    for (int i = 0; i < n; ++i) {
        if (fds[i].fd >= 0) close(fds[i].fd);
    }
    return ok;
}

char** listen_argv(const char* service, const char* port) {
    char** argv = static_cast<char**>(calloc(4, sizeof(char*)));
    argv[0] = const_cast<char*>(service);
    argv[1] = const_cast<char*>("--listen");
    argv[2] = const_cast<char*>(port);
    return argv;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(
            stderr,
            "usage: floor_supervisor spawn N SERVICE [ARG...] | probe SERVICE PORT... | chain MS SERVICE PORT...\n");
        return 64;
    }
    sigemptyset(&g_handled);
    sigaddset(&g_handled, SIGCHLD);
    sigaddset(&g_handled, SIGTERM);
    sigaddset(&g_handled, SIGINT);
    sigprocmask(SIG_BLOCK, &g_handled, nullptr);
    posix_spawnattr_init(&g_attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&g_attr, &none);
    posix_spawnattr_setflags(&g_attr, POSIX_SPAWN_SETSIGMASK);

    const char* mode = argv[1];
    if (strcmp(mode, "spawn") == 0 && argc >= 4) {
        g_count = atoi(argv[2]);
        if (g_count < 1 || g_count > kMax) return 64;
        for (int i = 0; i < g_count; ++i) g_argv[i] = argv + 3;
        for (int i = 0; i < g_count; ++i) spawn(i);
        while (wait_signal(-1)) {
        }
        stop_all();
    }
    if (strcmp(mode, "probe") == 0 && argc >= 4) {
        const char* service = argv[2];
        g_count = argc - 3;
        if (g_count > kMax) return 64;
        static int ports[kMax];
        for (int i = 0; i < g_count; ++i) {
            ports[i] = atoi(argv[3 + i]);
            g_argv[i] = listen_argv(service, argv[3 + i]);
            spawn(i);
        }
        for (long long next = now_ms();;) {
            while (now_ms() < next) {
                if (!wait_signal(next - now_ms())) stop_all();
            }
            probe_all(ports, g_count);
            next += 1000;
        }
    }
    if (strcmp(mode, "chain") == 0 && argc >= 5) {
        const long interval = atol(argv[2]);
        const char* service = argv[3];
        g_count = argc - 4;
        if (g_count > kMax) return 64;
        for (int i = 0; i < g_count; ++i) {
            g_argv[i] = listen_argv(service, argv[4 + i]);
            spawn(i);
            const int port = atoi(argv[4 + i]);
            while (probe_all(&port, 1) == 0) {
                const long long until = now_ms() + interval;
                while (now_ms() < until) {
                    if (!wait_signal(until - now_ms())) stop_all();
                }
            }
        }
        printf("all ready\n");
        fflush(stdout);
        while (wait_signal(-1)) {
        }
        stop_all();
    }
    fprintf(stderr, "floor_supervisor: bad arguments\n");
    return 64;
}
