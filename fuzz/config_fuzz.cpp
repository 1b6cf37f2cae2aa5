// Fuzz target: the configuration loader, YAML and interpolation included, through its real
// entry point config::load() on real files.
//
// The input is the main file, then each service file, separated by lines "--- 8< ---" (at
// most 8 service files); without a separator, the input is one service file under a main file
// of its own ("log: {level: info}"). The files are written to a private temporary directory
// (mainstay.yaml and services.d/NN.yaml) and loaded with a fixed environment. Interpolation
// also runs on the whole input directly. What must hold: load() returns (no crash, no
// exception, no sanitizer report), a Config exactly when there is no error, and every
// diagnostic has a message.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "config/interpolate.hpp"
#include "config/loader.hpp"

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSeparator = "\n--- 8< ---\n";
constexpr std::size_t kMaxServiceFiles = 8;

// The directory, made once and removed at exit.
struct Scratch {
    fs::path dir;
    Scratch() {
        std::string tmpl = (fs::temp_directory_path() / "mainstay-config-fuzz-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
        dir = tmpl;
    }
    ~Scratch() {
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }
};

void write(const fs::path& file, std::string_view text) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Scratch scratch;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const mainstay::config::Environment env{{"HOME", "/root"}, {"PORT", "8080"}, {"EMPTY", ""}, {"NAME", "web"}};

    (void)mainstay::config::interpolate(input, env);

    std::vector<std::string_view> parts;
    for (std::string_view rest = input;;) {
        const auto at = rest.find(kSeparator);
        parts.push_back(rest.substr(0, at));
        if (at == std::string_view::npos || parts.size() > kMaxServiceFiles) break;
        rest.remove_prefix(at + kSeparator.size());
    }
    if (parts.size() == 1) parts.insert(parts.begin(), "log: {level: info}\n");

    const fs::path services = scratch.dir / "services.d";
    std::error_code ignored;
    fs::remove_all(services, ignored);
    fs::create_directories(services);
    write(scratch.dir / "mainstay.yaml", parts[0]);
    for (std::size_t i = 1; i < parts.size(); ++i) {
        write(services / ("s" + std::to_string(i) + ".yaml"), parts[i]);
    }

    mainstay::config::LoadOptions options;
    options.config_file = scratch.dir / "mainstay.yaml";
    options.env = env;
    const auto result = mainstay::config::load(options);
    if (result.config.has_value() == result.diagnostics.has_errors()) std::abort();
    for (const auto& d : result.diagnostics.sorted()) {
        if (d.message.empty() || mainstay::config::format(d).empty()) std::abort();
    }
    return 0;
}
