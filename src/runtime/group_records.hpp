// Records of the process groups mainstay started, for a successor to end after a crash when no
// cgroup v2 is usable.
//
// Services are session leaders (pgid == sid == leader pid). Each running service has one small
// file `<records dir>/<pgid>` holding "pgid start_time boot_id label": the leader's start time
// (field 22 of /proc/PID/stat) and the boot id tell its group from a later one that reused the
// number. A file `instance` records mainstay itself the same way: it marks a run that did not
// end cleanly, and bounds the start time of what the run may have started. One create on
// start and one unlink on exit per service: cheap enough for a thousand services. Probes and
// hooks are not recorded: they are short-lived direct children with a timeout, their leader
// dies with mainstay (parent-death signal), and a file per probe run would double its cost.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mainstay::runtime {

struct GroupRecord {
    int pgid{0};
    std::uint64_t start_time{0};  // of the leader, clock ticks after boot
    std::string boot_id;
    std::string label;  // the service's name (no spaces), for messages

    bool operator==(const GroupRecord&) const = default;
};

std::string format_record(const GroupRecord& record);
std::optional<GroupRecord> parse_record(std::string_view text);

class GroupRecords {
public:
    static constexpr std::string_view kInstance = "instance";

    explicit GroupRecords(std::filesystem::path dir) : dir_(std::move(dir)) {}
    const std::filesystem::path& dir() const { return dir_; }

    // Creates the directory and the instance record; false with `error` when it cannot.
    bool open(std::string& error);
    // Records `pgid`'s group (its leader just started); false when it could not be written.
    bool add(int pgid, const std::string& label);
    void remove(int pgid);
    // A clean end: the instance record and the (then empty) directory go.
    void close();

    // What a previous run left: its group records and its instance record.
    struct Found {
        std::vector<GroupRecord> groups;
        std::optional<GroupRecord> instance;
        std::vector<std::filesystem::path> files;  // to delete once their groups are gone
    };
    static Found read(const std::filesystem::path& dir);

private:
    std::filesystem::path dir_;
    bool open_{false};
};

}  // namespace mainstay::runtime
