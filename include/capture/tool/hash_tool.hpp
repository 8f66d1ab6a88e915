// cap-hash: digests of capture files, sidecar files, and checking them
// (the check is hash_check.hpp's; what both share, hash_options.hpp's).
//
// Files are hashed in parallel, one file per task on a small pool of
// threads, so one large capture never holds up the small ones behind it;
// results still come out in input order, each as soon as it and everything
// before it is done, so `find | cap-hash | cap-info` streams.
//
// The formats are sha256sum's (text/checksum_line.hpp).
#pragma once

#include "capture/sys/atomic_file.hpp"
#include "capture/engine/cli.hpp"
#include "capture/sys/digest.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"
#include "capture/sys/open_writers.hpp"
#include "capture/text/output.hpp"
#include "capture/sys/parallel.hpp"
#include "capture/text/record.hpp"
#include "capture/tool/hash_check.hpp"
#include "capture/tool/hash_options.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace capture {

namespace detail {

/// Why a file must not be hashed yet, or nothing: its record says
/// state=running, or a process has it open for writing.
inline std::optional<std::string> still_being_written(const record& r, const open_writers* writers, const struct stat& st,
                                                      const std::string& file) {
    std::optional<file_writer> writer;
    if (writers) writer = writers->find(st.st_dev, st.st_ino);
    if (!writer && r.get("state") == "running") {
        std::string pid = r.get("pid");
        if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos)
            return file + ": still being written (its record says state=running); use --force to hash it anyway";
        std::string command = detail::process_command("/proc", std::stol(pid));
        writer = file_writer{static_cast<pid_t>(std::stol(pid)), command == "?" ? "its record says state=running" : command};
    }
    if (!writer) return std::nullopt;
    return file + ": still being written by " + std::to_string(writer->pid) + " (" + writer->command +
           "); use --force to hash it anyway";
}

// The audit line's details for a file hashed from input: the analyst of
// the record it came with first (who the capture is for), then the file.
inline record hash_audit_details(const record& input, const std::string& file) {
    record details;
    if (input.has("analyst")) details.set("analyst", input.get("analyst"));
    details.set("file", file);
    return details;
}

inline int run_hash_files(cli::context& ctx, const hash_options& options) {
    const digest_algorithm algo(options.algo);
    const output_mode mode = ctx.output;
    std::optional<open_writers> writers;
    bool failed = false;

    struct item {
        record rec;
        std::string file;
        std::string hex;
        std::string failure;          // the whole message, "FILE: why"
        std::string sidecar;          // the sidecar written
        std::string sidecar_failure;  // "FILE.sha256: why"
    };

    ordered_pool pool(options.jobs);
    bool inputs_ok = cli::for_each_input(ctx, [&](record& r) {
        if (!options.force && !writers) writers = open_writers::scan();
        auto it = std::make_shared<item>();
        it->rec = std::move(r);
        it->file = it->rec.get("file");
        const open_writers* scan = options.force ? nullptr : &*writers;

        auto work = [it, scan, &algo, &options] {
            if (it->file.empty()) {
                it->failure = "record without a file key: " + format_record(it->rec);
                return;
            }
            try {
                struct stat st {};
                unique_fd fd = open_file_to_hash(it->file, st);
                if (!options.force) {
                    if (auto why = still_being_written(it->rec, scan, st, it->file)) {
                        it->failure = *why;
                        return;
                    }
                }
                thread_local file_hasher hasher;
                it->hex = hasher.hex_digest_of_fd(fd.get(), it->file, algo.md());
            } catch (const std::exception& e) {
                it->failure = e.what();
                return;
            }
            if (options.sidecar) {
                try {
                    it->sidecar = write_sidecar(it->file, algo, it->hex);
                } catch (const std::exception& e) {
                    it->sidecar_failure = e.what();
                }
            }
        };

        auto emit = [it, &ctx, &algo, &failed, mode] {
            if (!it->failure.empty()) {
                failed = true;
                ctx.warn(it->failure);
                record details = hash_audit_details(it->rec, it->file);
                details.set("error", it->failure);
                ctx.log("hash", "failed", details);
                return;
            }
            if (mode == output_mode::human) {
                *ctx.out << checksum_line(it->hex, it->file) << '\n';
            } else {
                it->rec.set(algo.key(), it->hex);
                write_record(*ctx.out, it->rec, mode);
            }
            ctx.out->flush();
            record details = hash_audit_details(it->rec, it->file);
            details.set(algo.key(), it->hex);
            if (!it->sidecar_failure.empty()) {
                failed = true;
                ctx.warn(it->sidecar_failure);
                details.set("error", it->sidecar_failure);
                ctx.log("hash", "failed", details);
                return;
            }
            if (!it->sidecar.empty()) {
                details.set("sidecar", it->sidecar);
                if (ctx.verbose) ctx.warn("wrote " + it->sidecar);
            }
            ctx.log("hash", "ok", details);
        };
        pool.submit(std::move(work), std::move(emit));
    });
    pool.finish();
    if (ctx.verbose && writers && writers->uninspected())
        ctx.warn(std::to_string(writers->uninspected()) +
                 " processes could not be inspected for open captures (not permitted)");
    return failed || !inputs_ok ? exit_failure : exit_ok;
}

}  // namespace detail

/// cap-hash's body: hashes the inputs (operands, or records and bare
/// paths on stdin) or, with --check, verifies them. Per-file failures are
/// said on ctx.err and give exit_failure; the rest is still done. Throws
/// usage_error for bad options or an unknown digest.
inline int run_hash(cli::context& ctx) {
    hash_options options = hash_options_from(ctx);
    if (options.check) {
        detail::checker check(ctx, options);
        return check.run();
    }
    return detail::run_hash_files(ctx, options);
}

}  // namespace capture
