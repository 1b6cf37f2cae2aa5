// Chaos soak: 50 services under random faults for a few minutes, mainstay itself SIGKILLed and
// started again in the middle, then a look at what is left.
//
//   chaos_soak MAINSTAY TEST_SERVICE [SECONDS=180] [SERVICES=50] [SEED]
//
// Every service is a test-service answering HTTP on a loopback port, with an HTTP readiness
// probe (every second one a liveness probe too). Faults, each at a random time on a random
// service, and only ever sent to a pid that /proc shows is a child of the mainstay this soak
// started (checked with its start time, so a reused pid is never hit):
//   - kill:      SIGKILL;
//   - stop/cont: SIGSTOP, SIGCONT after 0.1-5 s (the probes time out; past the liveness budget
//                mainstay restarts it, which is fine too);
//   - unhealthy: its healthy file removed for 0.2-6 s (the probe gets 503);
//   - exit:      a tenth of the services exit by themselves after a random 2-20 s (a new
//                random delay at every start; exit code 0 under `always`, 3 under `on-failure`).
// Some services print lines without pause while mainstay's stdout is a pipe this soak reads
// at 1 KiB every 100 ms (a slow console); the log directory is a 2 MB tmpfs filled to the last
// byte (as root where mount works; skipped with the reason otherwise). Two services fork a
// grandchild in their group.
//
// Half-way, mainstay is SIGKILLed (faults going on), the pids of its services and of their
// grandchildren are recorded with their start times, and a new mainstay is started on the same
// configuration: none of those processes may remain, and every service must be ready again.
// The faults then go on against the new instance: after a warm-up its descriptors and RSS are
// taken at a quiet moment (faults paused, every service ready), and again once the faults
// stop and every service is ready. Checks: every service ready within a deadline, no zombie
// child, descriptors as at the baseline, RSS below twice the baseline and below +10 MB,
// mainstay's /healthz answered within 2 s throughout, a killed service running again within
// 5 s, the full disk reported, a clean exit on SIGTERM. Exit 0 when all hold, 1 otherwise.
#include "chaos_soak.hpp"

#include <cstdio>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: chaos_soak MAINSTAY TEST_SERVICE [SECONDS=180] [SERVICES=50] [SEED]\n");
        return 64;
    }
    // The set-up: the directory, its log disk, the configuration, the console and the prober.
    mainstay::bench::soak::Soak run(argc, argv);
    if (!run.make_directory()) return 1;
    run.mount_log_disk();
    run.write_configuration();
    if (!run.start_console()) return 1;
    run.start_prober();

    // The steps 1-5, each only once the one before it got to its end.
    if (run.first_instance() && run.faults_then_sigkill() && run.second_instance() && run.baseline())
        run.faults_then_look();

    // The end, on every path, then the checks and the report.
    run.stop_instances();
    run.drain_console();
    run.read_log_files();
    run.clean_up();
    run.final_checks();
    run.print_report();
    return run.failures.empty() ? 0 : 1;
}
