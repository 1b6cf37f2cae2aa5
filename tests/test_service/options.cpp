// test-service's command line: the usage text and the flags, checked.
#include <signal.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "test_service/test_service.hpp"

namespace test_service {

namespace {

const char* const kUsage = R"(usage: test-service [flags]
  --listen PORT                 listen TCP on 127.0.0.1:PORT (0 = ephemeral)
  --unix-socket PATH            listen on a unix stream socket at PATH
  --port-file FILE              write the actual TCP port (tmp+rename) once listening
  --ready-after MS              open the listeners only after MS ms
  --http                        answer each request with HTTP/1.1 200 "OK\n" (Connection: close)
  --healthy-file FILE           --http: 503 "unhealthy\n" while FILE is missing;
                                without --http: listeners closed while FILE is missing
  --route PATH=BODY             --http: answer GET/HEAD of PATH (query ignored) with 200 and
                                BODY (application/json when it starts with { or [); with any
                                --route, other paths get 404 "not found\n"; repeatable
  --hang                        accept connections, never answer or close them
  --exit-after MS               run the finish action (exit or --die-signal) after MS ms
  --exit-code C                 finish by exiting with C (default 0)
  --die-signal SIG              finish by killing itself with SIG (number or name)
  --ignore-sigterm              ignore SIGTERM and SIGINT (also in the grandchild)
  --fork-grandchild             fork a grandchild in the same process group that sleeps
  --grandchild-new-session      the grandchild calls setsid() (implies --fork-grandchild)
  --grandchild-pid-file FILE    the grandchild writes its pid there (tmp+rename)
  --orphan-grandchild           exit 0 right after forking (implies --fork-grandchild)
  --print-lines N               print N lines "line <i> xxx...\n"
  --lines-per-second R          print at R lines/s (forever, or N lines with --print-lines)
  --line-length L               bytes per line incl. newline (default 100)
  --stderr                      print the lines on stderr instead of stdout
  --stay                        keep running after the --print-lines output
  --pid-file FILE               write own pid (tmp+rename) at start
  --start-file FILE             append "<pid> <CLOCK_MONOTONIC ns>\n" at start
  --env-dump FILE               write CWD=, FDS= and the environment at start
  --sigmask-dump FILE           write SigBlk:/SigIgn: and "PGID= SID= PID=" at start
  --notify MSG@MS               send MSG (';' separates lines) to $NOTIFY_SOCKET at MS ms; repeatable
  --notify-every MSG@MS         send MSG to $NOTIFY_SOCKET every MS ms
  --ready-fd N@MS               write a newline on descriptor N at MS ms
)";

[[noreturn]] void usage_error(const std::string& msg) {
    std::fprintf(stderr, "test-service: %s\n(see --help)\n", msg.c_str());
    std::exit(kExitUsage);
}

long long parse_int(std::string_view flag, std::string_view s, long long lo, long long hi) {
    long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v < lo || v > hi)
        usage_error(std::string(flag) + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                    "], got '" + std::string(s) + "'");
    return v;
}

int parse_signal(std::string_view s) {
    if (!s.empty() && s[0] >= '0' && s[0] <= '9') return int(parse_int("--die-signal", s, 1, SIGRTMAX));
    if (s.starts_with("SIG")) s.remove_prefix(3);
    static const struct {
        const char* name;
        int sig;
    } names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
                 {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"USR1", SIGUSR1},
                 {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
                 {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
                 {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
                 {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"SYS", SIGSYS}};
    for (const auto& n : names)
        if (s == n.name) return n.sig;
    usage_error("--die-signal: unknown signal '" + std::string(s) + "'");
}

}  // namespace

Options parse_args(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view f = argv[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= argc) usage_error(std::string(f) + " needs a value");
            return argv[++i];
        };
        if (f == "--help" || f == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (f == "--listen")
            o.listen_port = int(parse_int(f, value(), 0, 65535));
        else if (f == "--unix-socket")
            o.unix_socket = value();
        else if (f == "--port-file")
            o.port_file = value();
        else if (f == "--ready-after")
            o.ready_after_ms = long(parse_int(f, value(), 0, 86400000));
        else if (f == "--http")
            o.http = true;
        else if (f == "--healthy-file")
            o.healthy_file = value();
        else if (f == "--route") {
            const std::string_view v = value();
            const auto eq = v.find('=');
            if (eq == std::string_view::npos || eq == 0 || v[0] != '/')
                usage_error("--route: expected PATH=BODY with PATH starting with '/', got '" + std::string(v) + "'");
            o.routes.emplace_back(std::string(v.substr(0, eq)), std::string(v.substr(eq + 1)));
        } else if (f == "--hang")
            o.hang = true;
        else if (f == "--exit-after")
            o.exit_after_ms = long(parse_int(f, value(), 0, 86400000));
        else if (f == "--exit-code")
            o.exit_code = int(parse_int(f, value(), 0, 255));
        else if (f == "--die-signal")
            o.die_signal = parse_signal(value());
        else if (f == "--ignore-sigterm")
            o.ignore_sigterm = true;
        else if (f == "--fork-grandchild")
            o.fork_grandchild = true;
        else if (f == "--grandchild-new-session")
            o.grandchild_new_session = o.fork_grandchild = true;
        else if (f == "--orphan-grandchild")
            o.orphan_grandchild = o.fork_grandchild = true;
        else if (f == "--grandchild-pid-file")
            o.grandchild_pid_file = value();
        else if (f == "--print-lines")
            o.print_lines = parse_int(f, value(), 0, 1LL << 50);
        else if (f == "--lines-per-second")
            o.lines_per_second = parse_int(f, value(), 1, 100000000);
        else if (f == "--line-length")
            o.line_length = long(parse_int(f, value(), 1, 1 << 20));
        else if (f == "--stderr")
            o.use_stderr = true;
        else if (f == "--stay")
            o.stay = true;
        else if (f == "--pid-file")
            o.pid_file = value();
        else if (f == "--start-file")
            o.start_file = value();
        else if (f == "--env-dump")
            o.env_dump = value();
        else if (f == "--sigmask-dump")
            o.sigmask_dump = value();
        else if (f == "--notify" || f == "--notify-every" || f == "--ready-fd") {
            const std::string_view v = value();
            const auto at = v.rfind('@');
            if (at == std::string_view::npos || at == 0)
                usage_error(std::string(f) + ": expected WHAT@MS, got '" + std::string(v) + "'");
            Options::Push p;
            const long ms = long(parse_int(f, v.substr(at + 1), f == "--notify-every" ? 1 : 0, 86400000));
            if (f == "--ready-fd")
                p.fd = int(parse_int(f, v.substr(0, at), 0, 1023));
            else
                p.message = std::string(v.substr(0, at));
            std::replace(p.message.begin(), p.message.end(), ';', '\n');
            p.at_ms = ms;
            if (f == "--notify-every") p.every_ms = ms;
            o.pushes.push_back(std::move(p));
        } else
            usage_error("unknown flag '" + std::string(f) + "'");
    }
    const bool listens = o.listen_port || !o.unix_socket.empty();
    if (!listens && (o.http || o.hang || !o.healthy_file.empty() || !o.port_file.empty() || o.ready_after_ms))
        usage_error("--http/--hang/--healthy-file/--port-file/--ready-after need --listen or --unix-socket");
    if (!o.port_file.empty() && !o.listen_port) usage_error("--port-file needs --listen");
    if (!o.routes.empty() && !o.http) usage_error("--route needs --http");
    if (!o.grandchild_pid_file.empty() && !o.fork_grandchild)
        usage_error("--grandchild-pid-file needs --fork-grandchild");
    if (!o.print_lines && !o.lines_per_second && (o.use_stderr || o.line_length != 100))
        usage_error("--stderr/--line-length need --print-lines or --lines-per-second");
    return o;
}

}  // namespace test_service
