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

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
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

/// One capture being stopped.
struct stopping {
    registry_entry entry;
    std::string failure;  ///< why it could not be stopped; empty when it was asked to
    bool signalled = false;
};

/// Sends SIGTERM to the capture of s when it is running.
inline void ask_to_stop(stopping& s) {
    const record& r = s.entry.rec;
    std::string name = r.get("id", s.entry.record_path);
    std::string state = effective_state(r);
    if (state != "running") {
        s.failure = name + ": not running (" + state + ")";
        return;
    }
    pid_t pid = static_cast<pid_t>(std::stol(r.get("pid", "0")));
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
    for (;;) {
        try {
            s.entry.rec = read_record_file(s.entry.record_path);
        } catch (const error&) {
            // Mid-rename on some file systems, or removed: look again.
        }
        bool gone = !record_process_alive(initial);
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

    // Ask them all first, then wait: stopping ten captures takes as long as one.
    for (auto& w : work) detail::ask_to_stop(w);
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
            if (w.signalled) {
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
    tool.takes_operands("ID");
    tool.add_options()
        ("analyst,f", po::value<std::vector<std::string>>()->value_name("ANALYST")->composing(),
         "stop this analyst's running captures (repeatable)")
        ("wait,w", po::value<double>()->value_name("SECONDS"), "wait at most this long for the captures to end (default 10)");
}

}  // namespace capture
