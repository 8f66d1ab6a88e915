// cap-stop: stop captures and pulls named by id, by analyst, or by the
// records on stdin (see cap-stop(1)).
//
// cap-stop never writes a capture's record: it asks the capture to stop
// (SIGTERM, to the process named by pid and start time, never by pid
// alone), and the capture flushes, closes and writes its final record
// itself. cap-stop waits for that record, within a bound, and prints it.
#pragma once

#include "capture/engine/cli.hpp"
#include "capture/engine/info.hpp"
#include "capture/text/links.hpp"
#include "capture/tool/ls_tool.hpp"
#include "capture/engine/registry.hpp"

#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace capture {

namespace detail {

/// The registry entries a target names: its id, else its file (a bare
/// line is an id when it looks like one, a path otherwise).
inline std::vector<const registry_entry*> match_target(const std::vector<registry_entry>& entries, const record& target) {
    std::vector<const registry_entry*> found;
    std::string id = target.get("id");
    std::string file = target.get("file");
    if (id.empty() && target.fields().size() == 1 && looks_like_id(file)) {
        id = file;
        file.clear();
    }
    for (const auto& e : entries) {
        if (!id.empty() ? e.rec.get("id") == id
                        : (!file.empty() && (e.rec.get("file") == file || e.record_path == file)))
            found.push_back(&e);
    }
    return found;
}

/// The program a running capture of ours runs: cap-start for a live
/// capture, cap-pull for a pull (and cap-merge for a merge), beside this
/// tool's own binary.
inline std::string program_of_kind(const std::string& kind) {
    return kind == "pull" ? "cap-pull" : kind == "merge" ? "cap-merge" : "cap-start";
}

/// The target of the link /proc/PID/exe (without the " (deleted)" an
/// upgrade leaves), empty when it cannot be read.
inline std::string process_exe(pid_t pid) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf - 1);
    if (n <= 0) return {};
    std::string exe(buf, static_cast<std::size_t>(n));
    const std::string deleted = " (deleted)";
    if (exe.size() > deleted.size() && exe.compare(exe.size() - deleted.size(), deleted.size(), deleted) == 0)
        exe.resize(exe.size() - deleted.size());
    return exe;
}

/// The first word of /proc/PID/cmdline, empty when it cannot be read.
inline std::string process_argv0(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::string first;
    std::getline(in, first, '\0');
    return first;
}

/// Why the process of r is not a capture of ours (empty when it is): its
/// executable must be the program of its kind beside this tool's own
/// binary, and its command line must name that program. An elevated
/// cap-stop signals nothing else: a record may be forged to name any
/// process. Throws nothing.
inline std::string not_ours(const record& r, pid_t pid) {
    std::string program = program_of_kind(r.get("kind"));
    std::string self = process_exe(::getpid());
    std::string expected = detail::dir_of(self) + "/" + program;
    std::string exe = process_exe(pid);
    if (self.empty() || exe != expected)
        return "process " + std::to_string(pid) + " is not " + expected + " (it runs " + (exe.empty() ? "?" : exe) + ")";
    std::string argv0 = process_argv0(pid);
    if (detail::base_of(argv0) != program)
        return "process " + std::to_string(pid) + "'s command line is not " + program + "'s";
    return {};
}

/// One capture being stopped.
struct stopping {
    registry_entry entry;
    std::string failure;  ///< why it could not be stopped; empty when it was asked to
    bool signalled = false;
    bool refused = false;  ///< the caller may not stop it (elevated): failure says why
};

/// Why an elevated caller may not stop the capture of e (empty when they
/// may): its record must be owned by root or the capture user, its user
/// must be the caller unless the caller is in an admin group, and its
/// process must be a capture of ours (checked again before the signal).
inline std::string refused_to_stop(const cli::context& ctx, const registry_entry& e, uid_t capture_uid) {
    const privilege& p = ctx.caller;
    std::string name = e.rec.get("id", e.record_path);
    if (e.owner != 0 && e.owner != capture_uid)
        return name + ": refused: its record " + e.record_path + " is owned by uid " + std::to_string(e.owner) +
               ", not by root or the capture user: it is not trusted";
    if (e.rec.get("user") != p.caller && !caller_in_any(p, ctx.config.admin_groups))
        return name + ": refused: it is " + (e.rec.get("user").empty() ? std::string("nobody's") : e.rec.get("user") + "'s") +
               " capture; stopping another's needs membership of an admin-group (" +
               (ctx.config.admin_groups.empty() ? std::string("none is configured") : group_list_text(ctx.config.admin_groups)) + ")";
    return {};
}

/// Sends SIGTERM to the capture of s when it is running (and, elevated,
/// when its process is a capture of ours).
inline void ask_to_stop(stopping& s, bool elevated = false) {
    const record& r = s.entry.rec;
    std::string name = r.get("id", s.entry.record_path);
    std::string state = effective_state(r);
    if (state != "running") {
        s.failure = name + ": not running (" + state + ")";
        return;
    }
    pid_t pid = static_cast<pid_t>(std::stol(r.get("pid", "0")));
    if (elevated) {
        if (std::string why = not_ours(r, pid); !why.empty()) {
            s.failure = name + ": refused: " + why;
            s.refused = true;
            return;
        }
    }
    // Checked again just before the signal: a pid freed and reused
    // meanwhile must not get it.
    if (!record_process_alive(r)) {
        s.failure = name + ": not running (dead)";
        return;
    }
    if (::kill(pid, SIGTERM) != 0) {
        int err = errno;
        s.failure = name + ": cannot stop process " + std::to_string(pid) + ": " + errno_text(err) +
                    (err == EPERM ? " (it runs as " + r.get("runas", "another user") + "; use sudo)" : "");
        return;
    }
    s.signalled = true;
}

/// Waits until the capture of s has written its final record and its
/// process is gone, until deadline; updates s.entry.rec.
inline void wait_stopped(stopping& s, std::chrono::steady_clock::time_point deadline) {
    std::string name = s.entry.rec.get("id", s.entry.record_path);
    record initial = s.entry.rec;
    auto read_now = [&] {
        try {
            s.entry.rec = read_record_file(s.entry.record_path);
        } catch (const error&) {
            // Mid-rename on some file systems, or removed: look again.
        }
    };
    for (;;) {
        read_now();
        bool gone = !record_process_alive(initial);
        // The record just read may be older than the process's end: a
        // capture writes its final record, then exits, and both can happen
        // between the read and the look at the process (a loaded sensor
        // makes that window wide). Once it is gone, what it left is final.
        if (gone) read_now();
        if (s.entry.rec.get("state") != "running" && gone) return;
        if (gone) {  // ended without a final record: a crash, not a stop
            s.entry.rec.set("state", "dead");
            s.failure = name + ": the capture ended without writing its final record";
            return;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            s.failure = name + ": did not stop within the time allowed (--wait); it is still running";
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace detail

/// Runs cap-stop; returns the exit code.
inline int run_stop(cli::context& ctx) {
    const auto& vm = ctx.vm;
    double wait_s = vm.count("wait") ? vm["wait"].as<double>() : 10.0;
    if (!(wait_s > 0 && wait_s <= 3600)) throw usage_error("--wait: between 0 and 3600 seconds");
    std::vector<std::string> analysts;
    if (vm.count("analyst")) analysts = vm["analyst"].as<std::vector<std::string>>();

    std::vector<record> targets;
    for (const auto& op : ctx.operands) targets.push_back(record{{"file", op}});
    bool inputs_ok = true;
    if (ctx.operands.empty() && analysts.empty()) {
        if (::isatty(STDIN_FILENO) == 1 && ctx.in == &std::cin)
            throw usage_error("name the captures to stop: by id, by -f ANALYST, or as records on stdin");
        inputs_ok = cli::for_each_input(ctx, [&](record& r) { targets.push_back(r); });
    }

    std::vector<std::string> problems;
    std::vector<registry_entry> entries = list_registry(ctx.config.dir, &problems);
    for (const auto& p : problems) ctx.warn(p);
    bool failed = !inputs_ok;

    std::vector<detail::stopping> work;
    auto add = [&](const registry_entry& e) {
        for (const auto& w : work)
            if (w.entry.record_path == e.record_path) return;  // named twice: stopped once
        work.push_back({e, {}, false});
    };
    for (const auto& t : targets) {
        auto found = detail::match_target(entries, t);
        if (found.empty()) {
            std::string name = t.get("id", t.get("file"));
            ctx.warn(name + ": no such capture in " + ctx.config.dir);
            failed = true;
        }
        for (const auto* e : found) add(*e);
    }
    for (const auto& a : analysts)
        for (const auto& e : entries)
            if (e.rec.get("analyst") == a && effective_state(e.rec) == "running") add(e);

    if (ctx.caller.elevated) {
        uid_t capture_uid = 0;
        try {
            capture_uid = resolve_run_as(ctx.config.capture_user, ctx.config.capture_group).uid;
        } catch (const usage_error&) {
            // No such user: only root's records are trusted.
        }
        for (auto& w : work)
            if (std::string why = detail::refused_to_stop(ctx, w.entry, capture_uid); !why.empty())
                w.failure = why, w.refused = true;
    }
    // Ask them all first, then wait: stopping ten captures takes as long as one.
    for (auto& w : work)
        if (!w.refused) detail::ask_to_stop(w, ctx.caller.elevated);
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<std::int64_t>(wait_s * 1000));
    bool first = true;
    for (auto& w : work) {
        if (w.signalled) detail::wait_stopped(w, deadline);
        const record& r = w.entry.rec;
        record details{{"id", r.get("id")}, {"analyst", r.get("analyst")}, {"file", r.get("file")},
                       {"owner", r.get("user")}, {"pid", r.get("pid")}};
        if (!w.failure.empty()) {
            ctx.warn(w.failure);
            failed = true;
            if (w.refused) {
                details.set("reason", w.failure);
                ctx.log("stop", "refused", details);
            } else if (w.signalled) {
                details.set("reason", w.failure);
                ctx.log("stop", "failed", details);
            }
            continue;
        }
        details.set("state", r.get("state"));
        details.set("packets", r.get("packets", "0"));
        ctx.log("stop", "ok", details);

        listed_capture c;
        c.rec = r;
        c.state = r.get("state");
        c.started = parse_iso8601(r.get("started"));
        c.ended = parse_iso8601(r.get("ended"), std::time(nullptr));
        std::optional<capture_summary> summary;
        std::vector<resource_link> links;
        if (ctx.verbose) {
            links = links_for_record(ctx.config.links, r, std::time(nullptr));
            try {
                summary = summarize_capture(r.get("file"));
                if (!summary->error.empty()) ctx.warn(summary->error);
            } catch (const std::exception& e) {
                ctx.warn(e.what());
            }
        }
        if (ctx.output == output_mode::human) {
            if (!ctx.verbose) {
                *ctx.out << "Stopped: " << r.get("file") << " (" << r.get("packets", "0") << " packets, "
                         << r.get("drops", "0") << " dropped)\n";
            } else {
                if (!first) *ctx.out << '\n';
                write_verbose_block(*ctx.out, c, links);
                if (summary) {
                    *ctx.out << '\n';
                    write_summary_human(*ctx.out, *summary);
                }
            }
        } else {
            record shown = summary ? summary_record(*summary, r) : r;
            if (ctx.verbose) set_links(shown, links);
            write_record(*ctx.out, shown, ctx.output);
        }
        first = false;
        ctx.out->flush();
    }
    return failed ? exit_failure : exit_ok;
}

/// Declares cap-stop's own options on tool.
inline void declare_stop_options(cli::tool& tool) {
    namespace po = boost::program_options;
    tool.takes_operands("ID").audits("stop");
    tool.add_options()
        ("analyst,f", po::value<std::vector<std::string>>()->value_name("ANALYST")->composing(),
         "stop this analyst's running captures (repeatable)")
        ("wait,w", po::value<double>()->value_name("SECONDS"), "wait at most this long for the captures to end (default 10)");
}

}  // namespace capture
