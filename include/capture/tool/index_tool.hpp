// cap-index: write the index of each closed capture file of an archive,
// or of the files named, so that cap-pull reads only the blocks that may
// hold what it is asked for (see cap-index(1), cap-index(5)).
//
// A file is closed when a newer one exists in its directory (its daemon
// moved on) or it has not grown for --settle seconds. An index is fresh
// while its capture has the size and mtime it records; anything else is
// indexed (again). --follow keeps at it as the daemon rolls files: woken
// by inotify where there is one, and by a rescan every few seconds in any
// case, until SIGINT or SIGTERM; its record in the capture directory says
// how far behind it is, for cap-ls.
#pragma once

#include "capture/engine/archive.hpp"
#include "capture/text/audit.hpp"
#include "capture/engine/cli.hpp"
#include "capture/engine/index_build.hpp"
#include "capture/engine/index_format.hpp"
#include "capture/sys/file_mode.hpp"
#include "capture/sys/parallel.hpp"
#include "capture/sys/process.hpp"
#include "capture/sys/scoped_signals.hpp"
#include "capture/engine/registry.hpp"
#include "capture/sys/time_format.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/inotify.h>
#endif

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace capture {

/// Set by SIGINT and SIGTERM while cap-index --follow runs.
inline std::atomic<bool> index_stop_requested{false};

/// Declares cap-index's own options on tool.
inline void declare_index_options(cli::tool& tool) {
    namespace po = boost::program_options;
    tool.takes_operands("FILE").takes_jobs("files indexed");
    tool.add_options()
        ("archive,r", po::value<std::vector<std::string>>()->value_name("DIR")->composing(),
         "index the closed files of an archive directory (repeatable)")
        ("index-dir", po::value<std::string>()->value_name("DIR"),
         "write indexes under DIR instead of beside the captures (default: the 'index-dir' configuration key)")
        ("settle", po::value<int>()->value_name("SECONDS")->default_value(60),
         "a directory's newest file is closed once it has not grown for SECONDS")
        ("follow", "keep indexing files as the daemon rolls them, until interrupted");
}

/// True when the sidecar at index_path records the capture's size and
/// mtime as st has them (a cheap test: the pull also checks the digest).
/// Throws nothing.
inline bool index_is_fresh(const std::string& index_path, const struct stat& st) {
    try {
        index_reader r(index_path);
        return r.capture().size == static_cast<std::uint64_t>(st.st_size) && r.capture().mtime_sec == st.st_mtim.tv_sec &&
               r.capture().mtime_nsec == static_cast<std::uint32_t>(st.st_mtim.tv_nsec);
    } catch (const std::exception&) {
        return false;
    }
}

/// What indexing one file did.
struct index_outcome {
    std::string path, index_path;
    std::uint64_t packets = 0, blocks = 0, keys = 0, bytes = 0, index_bytes = 0;
    std::string failure;  ///< "PATH: why", empty when indexed
};

/// Indexes the capture at path into its sidecar (under index_dir when not
/// empty). Throws nothing but std::bad_alloc: a failure is in the outcome.
inline index_outcome index_one(const std::string& path, const std::string& index_dir, mode_t mode) {
    index_outcome o;
    o.path = path;
    try {
        o.index_path = index_path_for(path, index_dir);
        index_content c = build_index(path);
        std::string bytes = encode_index(c);
        write_file_atomically(o.index_path, bytes, mode);
        o.packets = c.packets;
        o.blocks = c.blocks.size();
        o.keys = c.postings.size();
        o.bytes = c.capture.size;
        o.index_bytes = bytes.size();
    } catch (const std::exception& e) {
        o.failure = e.what();
    }
    return o;
}

/// The record of an outcome, on top of in (the input's keys kept).
inline record index_record(const index_outcome& o, record in = {}) {
    if (!in.has("file")) in.set("file", o.path);
    in.set("index", o.index_path);
    in.set("packets", std::to_string(o.packets));
    in.set("blocks", std::to_string(o.blocks));
    in.set("keys", std::to_string(o.keys));
    in.set("bytes", std::to_string(o.bytes));
    in.set("index_bytes", std::to_string(o.index_bytes));
    return in;
}

/// Index size as a percentage of the capture's, "0.84%".
inline std::string index_ratio_text(std::uint64_t index_bytes, std::uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f%%", bytes ? 100.0 * static_cast<double>(index_bytes) / static_cast<double>(bytes) : 0.0);
    return buf;
}

/// One file of an archive and whether it wants indexing now.
struct index_candidate {
    std::string path;
    std::uint64_t size = 0;
    bool closed = false;  ///< a newer file exists, or it has settled
    bool fresh = false;   ///< its index speaks for it as it is
};

/// The archive's files, each with whether it is closed and freshly
/// indexed. Problems (unreadable directories) go to problems.
inline std::vector<index_candidate> index_candidates(const std::vector<std::string>& archives,
                                                     const std::string& index_dir, std::int64_t settle,
                                                     std::int64_t now, std::vector<std::string>& problems) {
    std::vector<index_candidate> out;
    archive_scan scan = scan_archives(archives);
    problems.insert(problems.end(), scan.problems.begin(), scan.problems.end());
    for (const auto& f : scan.files) {
        index_candidate c;
        c.path = f.path;
        c.size = f.size;
        struct stat st {};
        if (::stat(f.path.c_str(), &st) != 0) continue;
        // Not even a header: a file its daemon has just opened, or one it
        // left empty; it holds nothing to index (a pull names it if it must).
        if (st.st_size < 24) continue;
        c.closed = !f.newest || now - st.st_mtime >= settle;
        try {
            c.fresh = index_is_fresh(index_path_for(f.path, index_dir), st);
        } catch (const std::exception& e) {
            problems.push_back(e.what());
            continue;
        }
        out.push_back(std::move(c));
    }
    return out;
}

namespace detail {

inline void on_index_signal(int) { index_stop_requested.store(true); }

// SIGINT and SIGTERM ask --follow to stop, for as long as it lives.
class index_signals : public scoped_signals {
public:
    index_signals() noexcept : scoped_signals({SIGINT, SIGTERM}, on_index_signal) {}
};

// Wakes on a change in the archive directories (inotify), or after timeout_ms.
class archive_watch {
public:
    explicit archive_watch(const std::vector<std::string>& dirs) {
#ifdef __linux__
        fd_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
        if (fd_)
            for (const auto& d : dirs)
                // Not IN_MODIFY: a write never closes a file, and a daemon
                // writing 1 Gbit/s would wake us for a rescan at every one.
                // A file closes when a newer one appears (IN_CREATE,
                // IN_MOVED_TO) or its writer lets go of it (IN_CLOSE_WRITE);
                // one that settles is met by the timed rescan.
                ::inotify_add_watch(fd_.get(), d.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
#else
        (void)dirs;
#endif
    }
    // Returns after a change, a signal, or timeout_ms.
    void wait(int timeout_ms) {
        if (!fd_) {
            struct timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
            ::nanosleep(&ts, nullptr);
            return;
        }
        struct pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) > 0) {
            char buf[4096];
            while (::read(fd_.get(), buf, sizeof buf) > 0) {
            }
        }
    }
    bool watching() const { return static_cast<bool>(fd_); }

private:
    unique_fd fd_;
};

inline void say_indexed(const cli::context& ctx, const index_outcome& o, record in = {}) {
    if (ctx.output == output_mode::human) {
        *ctx.out << "indexed " << o.path << ": " << o.packets << " packets, " << o.blocks << " blocks, " << o.keys
                 << " keys, " << format_bytes_human(o.index_bytes) << " (" << index_ratio_text(o.index_bytes, o.bytes)
                 << ")\n";
    } else {
        write_record(*ctx.out, index_record(o, std::move(in)), ctx.output);
    }
    ctx.out->flush();
}

// Indexes paths on ctx's jobs, in order; returns the outcomes. each runs
// in order as each finishes.
inline void index_files(const cli::context& ctx, const std::vector<std::string>& paths, const std::string& index_dir,
                        const std::function<void(const index_outcome&)>& each) {
    ordered_pool pool(cli::jobs(ctx));
    for (const auto& p : paths) {
        auto o = std::make_shared<index_outcome>();
        pool.submit([o, p, &index_dir, &ctx] { *o = index_one(p, index_dir, ctx.config.file_mode); },
                    [o, &each] { each(*o); });
        if (index_stop_requested.load()) break;
    }
    pool.finish();
}

inline std::string index_dir_of(const cli::context& ctx) {
    std::string d = ctx.vm.count("index-dir") ? ctx.vm["index-dir"].as<std::string>() : ctx.config.index_dir;
    if (!d.empty()) make_directory_for(d, ctx.config.file_mode);
    return d;
}

}  // namespace detail

/// Runs cap-index; returns the exit code.
inline int run_index_tool(cli::context& ctx) {
    const auto& vm = ctx.vm;
    const int settle = vm["settle"].as<int>();
    if (settle < 0) throw usage_error("--settle: " + std::to_string(settle) + " is negative");
    const bool follow = vm.count("follow") > 0;
    std::vector<std::string> archives;
    if (vm.count("archive")) archives = vm["archive"].as<std::vector<std::string>>();
    if (follow && archives.empty()) archives = ctx.config.archives;
    if (follow && archives.empty())
        throw usage_error("--follow needs an archive: name a directory with -r DIR, or set 'archive' in the configuration");
    if (!archives.empty() && !ctx.operands.empty()) throw usage_error("give either -r DIR or files, not both");
    const std::string index_dir = detail::index_dir_of(ctx);
    umask_for(ctx.config.file_mode);

    std::uint64_t indexed = 0, failed = 0, bytes = 0, index_bytes = 0;
    auto audit_details = [&] {
        record d;
        if (!archives.empty()) {
            std::string a;
            for (const auto& x : archives) a += (a.empty() ? "" : ",") + x;
            d.set("archives", a);
        }
        d.set("files", std::to_string(indexed));
        if (failed) d.set("problems", std::to_string(failed));
        d.set("bytes", std::to_string(bytes));
        d.set("index_bytes", std::to_string(index_bytes));
        return d;
    };
    auto note = [&](const index_outcome& o, record in = {}) {
        if (!o.failure.empty()) {
            ctx.warn(o.failure);
            ++failed;
            return;
        }
        ++indexed;
        bytes += o.bytes;
        index_bytes += o.index_bytes;
        detail::say_indexed(ctx, o, std::move(in));
    };

    if (archives.empty()) {
        // The files named, or arriving as records: indexed whatever their state.
        std::vector<record> inputs;
        bool inputs_ok = cli::for_each_input(ctx, [&](record& r) { inputs.push_back(r); });
        std::vector<std::string> paths;
        for (const auto& r : inputs) paths.push_back(r.get("file"));
        std::size_t i = 0;
        detail::index_files(ctx, paths, index_dir, [&](const index_outcome& o) { note(o, inputs[i++]); });
        ctx.log("index", failed ? (indexed ? "partial" : "failed") : "ok", audit_details());
        return failed || !inputs_ok ? exit_failure : exit_ok;
    }

    // An archive: its closed files without a fresh index.
    std::map<std::string, std::tuple<std::uint64_t, std::int64_t, long>> refused;  // path -> the state that failed
    std::vector<std::uint64_t> todo_sizes;
    auto closed_unindexed = [&](std::vector<std::string>& problems, std::uint64_t& behind_bytes) {
        std::vector<std::string> todo;
        todo_sizes.clear();
        behind_bytes = 0;
        for (const auto& c : index_candidates(archives, index_dir, settle, std::time(nullptr), problems)) {
            if (!c.closed || c.fresh) continue;
            struct stat st {};
            if (::stat(c.path.c_str(), &st) != 0) continue;
            auto it = refused.find(c.path);
            if (it != refused.end() &&
                it->second == std::make_tuple(static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec, st.st_mtim.tv_nsec))
                continue;
            todo.push_back(c.path);
            todo_sizes.push_back(c.size);
            behind_bytes += c.size;
        }
        return todo;
    };
    auto remember_refusal = [&](const index_outcome& o) {
        struct stat st {};
        if (!o.failure.empty() && ::stat(o.path.c_str(), &st) == 0)
            refused[o.path] = {static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
    };

    if (!follow) {
        std::vector<std::string> problems;
        std::uint64_t behind_bytes = 0;
        std::vector<std::string> todo = closed_unindexed(problems, behind_bytes);
        for (const auto& p : problems) ctx.warn(p);
        detail::index_files(ctx, todo, index_dir, [&](const index_outcome& o) {
            record r{{"kind", "file"}};
            note(o, r);
        });
        ctx.log("index", failed || !problems.empty() ? (indexed ? "partial" : "failed") : "ok", audit_details());
        return failed || !problems.empty() ? exit_failure : exit_ok;
    }

    // --follow: a record in the capture directory while it runs.
    index_stop_requested.store(false);
    detail::index_signals signals;
    const std::string dir = ctx.config.dir;
    make_directory_for(dir, ctx.config.file_mode);
    const std::int64_t started = std::time(nullptr);
    actor who = current_actor();
    record rec;
    rec.set("id", new_capture_id());
    rec.set("kind", "index");
    rec.set("state", "running");
    rec.set("analyst", who.sudo_user.empty() ? who.user : who.sudo_user);
    rec.set("file", archives.front());
    std::string list;
    for (const auto& a : archives) list += (list.empty() ? "" : "\n") + a;
    rec.set("desc", "index " + list);
    rec.set("archives", list);
    if (!index_dir.empty()) rec.set("index_dir", index_dir);
    rec.set("started", format_iso8601(started));
    rec.set("pid", std::to_string(::getpid()));
    rec.set("pstart", std::to_string(process_start_time(::getpid()).value_or(0)));
    rec.set("user", who.user);
    const std::string record_path = dir + "/cap-index_" + rec.get("id") + std::string(record_file_suffix);
    auto publish = [&](std::size_t behind, std::uint64_t behind_bytes) {
        rec.set("indexed", std::to_string(indexed));
        rec.set("behind", std::to_string(behind));
        rec.set("behind_bytes", std::to_string(behind_bytes));
        rec.set("progress", "indexed " + std::to_string(indexed) + " files, " +
                                (behind ? std::to_string(behind) + " behind (" + format_bytes_human(behind_bytes) + ")"
                                        : std::string("up to date")));
        try {
            write_record_file(record_path, rec, ctx.config.file_mode);
        } catch (const error& e) {
            ctx.warn(e.what());
        }
    };
    publish(0, 0);
    ctx.log("index", "started", audit_details());
    detail::archive_watch watch(archives);
    const int rescan_ms = watch.watching() ? 5000 : 1000;
    while (!index_stop_requested.load()) {
        std::vector<std::string> problems;
        std::uint64_t behind_bytes = 0;
        std::vector<std::string> todo = closed_unindexed(problems, behind_bytes);
        for (const auto& p : problems) ctx.warn(p);
        publish(todo.size(), behind_bytes);
        std::size_t left = todo.size();
        detail::index_files(ctx, todo, index_dir, [&](const index_outcome& o) {
            record r{{"kind", "file"}};
            note(o, r);
            remember_refusal(o);
            behind_bytes -= std::min(behind_bytes, todo_sizes[todo.size() - left]);
            --left;
            publish(left, behind_bytes);
        });
        if (index_stop_requested.load()) break;
        // A newest file settles after settle seconds without a write:
        // look again by then even when nothing wakes us.
        watch.wait(std::min(rescan_ms, std::max(1000, settle * 1000)));
    }
    rec.set("state", "done");
    rec.set("ended", format_iso8601(std::time(nullptr)));
    publish(0, 0);
    ctx.log("index", failed ? "partial" : "ok", audit_details());
    return failed ? exit_failure : exit_ok;
}

}  // namespace capture
