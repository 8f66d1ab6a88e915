// cap-hash's options and sidecar files: what both of its jobs, hashing
// (hash_tool.hpp) and checking (hash_check.hpp), share.
#pragma once

#include "capture/engine/cli.hpp"
#include "capture/sys/atomic_file.hpp"
#include "capture/sys/digest.hpp"
#include "capture/sys/error.hpp"
#include "capture/text/checksum_line.hpp"

#include <string>

namespace capture {


/// Where the sidecar of file goes: "FILE.ALGO" ("x.pcap.sha256").
inline std::string sidecar_path(const std::string& file, const digest_algorithm& algo) {
    return file + "." + algo.name();
}

/// Writes file's sidecar atomically: one sha256sum line naming file's
/// basename, so `cd DIR && sha256sum -c FILE.sha256` accepts it.
/// Returns the sidecar's path. Throws error("SIDECAR: why").
inline std::string write_sidecar(const std::string& file, const digest_algorithm& algo, const std::string& hex) {
    std::string path = sidecar_path(file, algo);
    write_file_atomically(path, checksum_line(hex, file_name_of(file)) + "\n");
    return path;
}


/// cap-hash's options, read from the context's variables_map.
struct hash_options {
    std::string algo = "sha256";  ///< --algo, else algo= in the configuration
    bool algo_given = false;      ///< --algo was on the command line
    bool sidecar = false;         ///< --sidecar (or sidecar=true in the configuration)
    bool check = false;           ///< --check
    bool quiet = false;           ///< --quiet: no line for a file that verifies
    bool force = false;           ///< --force: hash files still being written
    unsigned jobs = 1;            ///< --jobs: files hashed at once
};

/// The options in ctx.vm, with the configuration's defaults. Throws
/// usage_error for a bad --jobs or a combination that makes no sense.
inline hash_options hash_options_from(const cli::context& ctx) {
    const auto& vm = ctx.vm;
    hash_options o;
    o.algo = ctx.config.algo.empty() ? "sha256" : ctx.config.algo;
    if (vm.count("algo")) {
        o.algo = vm["algo"].as<std::string>();
        o.algo_given = true;
    }
    o.sidecar = vm.count("sidecar") > 0 || ctx.config.sidecar;
    o.check = vm.count("check") > 0;
    o.quiet = vm.count("quiet") > 0;
    o.force = vm.count("force") > 0;
    o.jobs = cli::jobs(ctx);
    if (o.check && vm.count("sidecar")) throw usage_error("--sidecar and --check cannot be used together");
    if (o.quiet && !o.check) throw usage_error("--quiet only applies to --check");
    if (o.force && o.check) throw usage_error("--force only applies when hashing, not with --check");
    return o;
}

}  // namespace capture
