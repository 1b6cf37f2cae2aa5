// The commands that talk to a running instance over its control socket (SPEC §1): status,
// why, events, logs, start|stop|restart|resume|signal, analyze, reload. Each returns its exit
// code. The instance is found through a config::ClientTarget (--socket, $MAINSTAY_SOCKET or
// the main file's status.socket).
//
// status: 0 when the mode is full, 1 when degraded or starting (or stopping), 2 when critical,
// 3 when nothing listens on the socket (then the status file, when there is one, is shown with
// "not running"). why: 0 when the service is ready, 1 when not. Every command: 3 when nothing
// listens, 77 when its socket refuses us (permission), 1 when the instance says no (a refusal
// such as "too many connections" included, even when it came before the request was sent), 69
// when an instance listens but gives no answer (it closed the connection, or the deadline
// passed). analyze: 0, or 73 when the SVG file cannot be written.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "config/client_target.hpp"
#include "config/interpolate.hpp"

namespace mainstay::cli {

inline constexpr int kExitNotRunning = 3;     // nothing listens on the control socket
inline constexpr int kExitNoAnswer = 69;      // EX_UNAVAILABLE: an instance listens but gave no answer
inline constexpr int kExitNoPermission = 77;  // EX_NOPERM

struct ClientOptions {
    bool json{false};
    bool watch{false};
    bool follow{false};
    std::string since;                // events: "5m"
    std::optional<std::string> tier;  // downgrade --to
    std::vector<std::string> names;   // status, events: only these; why and control: the one
    std::size_t width{80};            // of the terminal, for the table
    std::string svg;                  // analyze: also write the chart there
    bool all{false};                  // start|stop|restart|resume|signal: every service it applies to
    bool wait{false};                 // ... and wait for each to reach its target state
    std::string timeout{"60s"};       // --wait: for at most this long
    std::size_t lines{50};            // logs -n
    std::string signal;               // signal: SIGUSR1, USR1, 10
};

int status_command(const config::ClientTarget& target, const ClientOptions& o, std::ostream& out, std::ostream& err);
// `mainstay breakers [--json] [NAME...]`: every circuit breaker with its figures.
int breakers_command(const config::ClientTarget& target, const ClientOptions& o, std::ostream& out, std::ostream& err);
int why_command(const config::ClientTarget& target, const ClientOptions& o, std::ostream& out, std::ostream& err);
int events_command(const config::ClientTarget& target, const ClientOptions& o, std::ostream& out, std::ostream& err);
// `verb`: start, stop, restart, resume or signal. Prints one line per service ("web: start
// requested", or why not); with --wait, then one per service as it reaches its target state
// ("web: ready") or fails ("db: failed (...)"). Exit 0 when every one was accepted (and, with
// --wait, reached its state before --timeout), 1 otherwise.
int control_command(const config::ClientTarget& target, const std::string& verb, const ClientOptions& o,
                    std::ostream& out, std::ostream& err);

// logs NAME: its last `lines` lines of output, then with --follow the new ones as they come.
int logs_command(const config::ClientTarget& target, const ClientOptions& o, std::ostream& out, std::ostream& err);

// The startup timeline (text or --json), and with --svg FILE its chart written to FILE.
int analyze_command(const config::ClientTarget& target, const ClientOptions& o, std::ostream& out, std::ostream& err);
// reload: the instance reads its configuration again (as on SIGHUP) and applies the difference.
// It answers {"ok":true,"diff":DIFF,"summary":"reload: ..."} (config/diff.hpp): the summary is
// printed, exit 0; {"ok":false,"error":"invalid configuration: nothing changed","diagnostics":
// ["FILE:LINE:COL: error: ...", ...]}: each diagnostic then the error on stderr, exit 2 (what
// runs keeps its definition); {"ok":false,"error":"..."}: exit 1. Diagnostics that come with an
// answer that is ok (warnings) are printed too.
int reload_command(const config::ClientTarget& target, std::ostream& out, std::ostream& err);

// upgrade|downgrade CAPABILITY [--to TIER]: prints where the capability is now ("llm: held at
// tier cloud until mainstay upgrade", "llm: every tier is checked now; on tier node"), exit 0;
// a refusal (no such capability or tier) exit 1.
int tier_command(const config::ClientTarget& target, const std::string& verb, const ClientOptions& o, std::ostream& out,
                 std::ostream& err);

// The terminal's width: stdout's when it is one, else $COLUMNS, else 80.
std::size_t terminal_width(const config::Environment& env);

}  // namespace mainstay::cli
