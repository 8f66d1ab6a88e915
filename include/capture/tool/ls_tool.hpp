// cap-ls: list running captures and pulls, or all of them, or a report
// (see cap-ls(1)).
#pragma once

#include "capture/tool/audit_verify.hpp"
#include "capture/engine/cli.hpp"
#include "capture/engine/leftovers.hpp"
#include "capture/engine/pull_status.hpp"
#include "capture/text/links.hpp"
#include "capture/engine/registry.hpp"
#include "capture/text/activity_report.hpp"
#include "capture/sys/time_arg.hpp"
#include "capture/sys/time_format.hpp"
#include "capture/text/table.hpp"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace capture {

/// A capture as cap-ls shows it: its record with the state as it really
/// is, and the times it covers.
struct listed_capture {
    record rec;                ///< the record, with state as it really is
    std::string state;         ///< running, stopped, limit, failed, dead, interrupted ...
    std::int64_t started = 0;  ///< seconds since the epoch
    std::int64_t ended = 0;  ///< now for one still running
    bool stale = false;
};

/// The description as the original tool printed it: every run of
/// characters other than letters and digits as one space.
inline std::string readable_description(const std::string& desc) {
    std::string out;
    bool gap = false;
    for (unsigned char c : desc) {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
        if (!alnum) {
            gap = true;
            continue;
        }
        if (gap && !out.empty()) out += ' ';
        gap = false;
        out += static_cast<char>(c);
    }
    return out;
}

/// One line for a person: "grant Tue Feb 17 15:20:22 2009 traffic to
/// grantstavely com", then the state and end of a finished capture, and
/// "[stale]" for one running longer than the stale age.
inline std::string human_line(const listed_capture& c) {
    std::string line = c.rec.get("analyst", "?") + " " + format_human_time(c.started) + " " +
                       readable_description(c.rec.get("desc"));
    if (c.state != "running") {
        line += " [" + c.state;
        if (c.rec.has("ended")) line += " " + format_human_time(c.ended);
        line += "]";
    } else if (c.rec.get("kind") == "pull" && c.rec.has("progress")) {
        line += " [pull at " + c.rec.get("progress") + "]";
    } else if (c.rec.get("kind") == "index" && c.rec.has("progress")) {
        line += " [index: " + c.rec.get("progress") + "]";
    }
    if (c.stale) line += " [stale]";
    return line;
}

/// The columns of cap-ls's table on a terminal.
inline const std::vector<std::string>& capture_table_header() {
    static const std::vector<std::string> header{"ID", "ANALYST", "STARTED", "STATE", "SIZE", "PROGRESS",
                                                 "DESCRIPTION"};
    return header;
}

/// How far a pull got, for the table: "42% ETA 13s" while it runs (from
/// its record's read_bytes, total_bytes and eta), the percent read once it
/// ended; empty for a live capture or a record without those keys.
inline std::string pull_progress_cell(const listed_capture& c) {
    const record& r = c.rec;
    if (r.get("kind") != "pull" || !r.has("total_bytes")) return "";
    try {
        const std::uint64_t total = std::stoull(r.get("total_bytes"));
        const std::uint64_t read = std::stoull(r.get("read_bytes", "0"));
        std::string cell = std::to_string(pull_figures_of(read, total, 0).percent) + "%";
        if (c.state == "running") cell += " ETA " + format_eta(r.has("eta") ? std::stod(r.get("eta")) : -1);
        return cell;
    } catch (const std::exception&) {
        return "";  // a hand-edited record
    }
}

/// One row of cap-ls's table: id, analyst, start (the seed's look), state,
/// size of the file (what the record says when the file cannot be seen),
/// a pull's progress, the description as the seed printed it.
inline std::vector<std::string> capture_table_row(const listed_capture& c) {
    const record& r = c.rec;
    std::uint64_t size = 0;
    struct stat st {};
    const std::string file = r.get("file");
    if (!file.empty() && ::stat(file.c_str(), &st) == 0) {
        size = static_cast<std::uint64_t>(st.st_size);
    } else {
        try {
            size = std::stoull(r.get("bytes", "0"));
        } catch (const std::exception&) {
        }
    }
    return {r.get("id", "?"), r.get("analyst", "?"), format_human_time(c.started),
            c.state + (c.stale ? " (stale)" : ""), format_bytes_human(size), pull_progress_cell(c),
            readable_description(r.get("desc"))};
}

/// The verbose block of the original tool, for a person, ending with the
/// suggested links when there are any.
inline void write_verbose_block(std::ostream& out, const listed_capture& c,
                                const std::vector<resource_link>& links = {}) {
    const record& r = c.rec;
    std::string file = r.get("file");
    struct stat st {};
    bool seen = !file.empty() && ::stat(file.c_str(), &st) == 0;
    std::uint64_t size = seen ? static_cast<std::uint64_t>(st.st_size) : 0;
    if (!seen) {
        try {
            size = std::stoull(r.get("bytes", "0"));
        } catch (const std::exception&) {
            // A hand-edited record: the size is unknown, shown as 0.
        }
    }
    out << "Id: " << r.get("id") << '\n'
        << "Analyst: " << r.get("analyst") << '\n'
        << "State: " << c.state << (c.stale ? " (stale)" : "") << '\n'
        << "Size (bytes): " << format_bytes_human(size) << " (" << size << ")\n"
        << "Started: " << format_human_time(c.started) << '\n';
    if (c.state != "running") out << "Ended: " << format_human_time(c.ended) << '\n';
    if (seen) {
        out << "Last Modified: " << format_human_time(st.st_mtime) << '\n'
            << "Last Accessed: " << format_human_time(st.st_atime) << '\n'
            << "Last Changed: " << format_human_time(st.st_ctime) << '\n';
    }
    out << "Description: " << r.get("desc") << '\n'
        << "Expression: " << r.get("expr") << '\n'
        << "Capture File: " << file << '\n'
        << "Interface: " << r.get("iface") << '\n'
        << "Packets: " << r.get("packets", "0") << '\n'
        << "Dropped: " << r.get("drops", "0") << '\n';
    if (r.get("kind") == "pull" || r.get("kind") == "index") out << "Progress: " << r.get("progress", "-") << '\n';
    if (r.get("kind") == "index") out << "Behind: " << r.get("behind", "0") << " files (" << r.get("behind_bytes", "0") << " bytes)\n";
    if (r.has("limit")) out << "Limit: " << r.get("limit") << '\n';
    if (r.has("reason")) out << "Reason: " << r.get("reason") << '\n';
    write_links_human(out, links);
}

/// The captures in ctx's directory: dead ones found are marked dead (and
/// logged, once) when the record can be rewritten, and their files made
/// whole (leftovers.hpp). Problems with record files are said on stderr;
/// returns false when there were any.
inline bool collect_captures(const cli::context& ctx, std::vector<listed_capture>& out, std::int64_t now,
                             std::int64_t stale_age) {
    std::vector<std::string> problems;
    auto entries = list_registry(ctx.config.dir, &problems);
    for (const auto& p : problems) ctx.warn(p);
    for (auto& e : entries) {
        listed_capture c;
        c.rec = e.rec;
        c.state = effective_state(e.rec);
        if (c.state == "dead" && e.rec.get("state") != "dead") {
            try {
                if (auto marked = mark_dead_if_gone(e)) {
                    c.rec = *marked;
                    record details{{"id", c.rec.get("id")}, {"analyst", c.rec.get("analyst")},
                                   {"file", c.rec.get("file")}, {"pid", c.rec.get("pid")}};
                    ctx.log("dead", "dead", details);
                } else {
                    c.rec = read_record_file(e.record_path);  // it finished meanwhile
                }
                c.state = effective_state(c.rec);
            } catch (const error&) {
                // Not ours to rewrite (another user's directory): shown dead all the same.
            }
        }
        // Its file cut after its last whole packet, a pull's published over
        // its link, its counters what the file holds: once.
        if (c.state == "dead" && !c.rec.has("repaired")) {
            if (auto repaired = repair_dead_capture(e.record_path)) c.rec = *repaired;
        }
        c.started = parse_iso8601(c.rec.get("started"), file_mtime(c.rec.get("file")));
        c.ended = c.state == "running" ? now : parse_iso8601(c.rec.get("ended"), file_mtime(e.record_path));
        c.stale = c.state == "running" && stale_age > 0 && now - c.started > stale_age;
        // A live capture that has written nothing for as long is stale too.
        if (c.state == "running" && stale_age > 0 && c.rec.get("kind", "live") == "live") {
            const std::int64_t written = file_mtime(c.rec.get("file"));
            if (written > 0 && now - written > stale_age) c.stale = true;
        }
        c.rec.set("state", c.state);
        if (c.stale) c.rec.set("stale", "yes");
        out.push_back(std::move(c));
    }
    return problems.empty();
}

/// Says on stderr which files killed tools left in ctx's directory
/// (leftovers.hpp), or with clean removes them (and logs each). Returns
/// false when one could not be removed. Throws nothing but std::bad_alloc.
inline bool report_leftovers(const cli::context& ctx, bool clean) {
    bool all_removed = true;
    for (const auto& l : find_leftovers(ctx.config.dir)) {
        const std::string who = "process " + std::to_string(l.pid);
        const std::string what = l.bytes ? format_bytes_human(l.bytes) : std::string("a link");
        if (!clean) {
            ctx.warn(l.path + ": left by " + who + ", which ended before it finished it (" + what +
                     "); cap-ls --clean removes it");
            continue;
        }
        record details{{"file", l.path}, {"pid", std::to_string(l.pid)}, {"bytes", std::to_string(l.bytes)}};
        try {
            remove_leftover(l);
            ctx.warn("removed " + l.path + " (" + what + ", left by " + who + ")");
            ctx.log("clean", "ok", details);
        } catch (const error& e) {
            ctx.warn(e.what());
            details.set("error", e.what());
            ctx.log("clean", "failed", details);
            all_removed = false;
        }
    }
    return all_removed;
}

/// Runs cap-ls; returns the exit code.
inline int run_ls(cli::context& ctx) {
    const auto& vm = ctx.vm;
    if (vm.count("verify-audit")) return run_verify_audit(ctx);
    if (!ctx.operands.empty()) throw usage_error("a FILE is only taken with --verify-audit: '" + ctx.operands[0] + "'");
    std::int64_t now = std::time(nullptr);
    std::int64_t stale_age = static_cast<std::int64_t>(parse_duration(ctx.config.stale_age, "stale-age"));
    bool all = vm.count("all") > 0 || vm.count("history") > 0 || vm.count("report") > 0;
    if (vm.count("by") && !vm.count("report")) throw usage_error("--by needs --report");
    std::vector<std::string> analysts;
    if (vm.count("analyst")) analysts = vm["analyst"].as<std::vector<std::string>>();
    std::int64_t since = vm.count("since") ? parse_time_arg(vm["since"].as<std::string>(), "--since", now)
                                           : std::numeric_limits<std::int64_t>::min();
    std::int64_t until = vm.count("until") ? parse_time_arg(vm["until"].as<std::string>(), "--until", now)
                                           : std::numeric_limits<std::int64_t>::max();
    if ((vm.count("since") || vm.count("until")) && !all)
        throw usage_error("--since and --until need --all, --history or --report");

    std::vector<listed_capture> captures;
    bool ok = collect_captures(ctx, captures, now, stale_age);
    ok = report_leftovers(ctx, vm.count("clean") > 0) && ok;
    std::vector<listed_capture> shown;
    for (auto& c : captures) {
        if (!all && c.state != "running") continue;
        if (!analysts.empty() && std::find(analysts.begin(), analysts.end(), c.rec.get("analyst")) == analysts.end())
            continue;
        if (c.started > until || c.ended < since) continue;  // no overlap with the window
        shown.push_back(std::move(c));
    }

    if (vm.count("report")) {
        std::vector<activity_entry> entries;
        for (const auto& c : shown) entries.push_back(activity_of(c.rec, c.started, c.ended));
        const report_by by = parse_report_by(vm.count("by") ? vm["by"].as<std::string>() : "analyst,day");
        write_activity_report(*ctx.out, sum_activity(entries, by), by, ctx.output);
        return ok ? exit_ok : exit_failure;
    }

    // On a terminal, a table with a header (gh's pr list); --human in a
    // pipe keeps the seed's one line per capture.
    if (ctx.output == output_mode::human && !ctx.verbose && ::isatty(STDOUT_FILENO) == 1) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& c : shown) rows.push_back(capture_table_row(c));
        struct winsize ws {};
        const std::size_t columns = ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
        write_table(*ctx.out, capture_table_header(), rows, columns);
        return ok ? exit_ok : exit_failure;
    }
    bool first = true;
    for (auto& c : shown) {
        // -v: the suggested links too, made afresh from the configuration.
        std::vector<resource_link> links;
        if (ctx.verbose) {
            links = links_for_record(ctx.config.links, c.rec, now);
            set_links(c.rec, links);
        }
        if (ctx.output != output_mode::human) {
            write_record(*ctx.out, c.rec, ctx.output);
        } else if (ctx.verbose) {
            if (!first) *ctx.out << '\n';
            write_verbose_block(*ctx.out, c, links);
        } else {
            *ctx.out << human_line(c) << '\n';
        }
        first = false;
    }
    return ok ? exit_ok : exit_failure;
}

/// Declares cap-ls's own options on tool.
inline void declare_ls_options(cli::tool& tool) {
    namespace po = boost::program_options;
    tool.add_options()
        ("analyst,f", po::value<std::vector<std::string>>()->value_name("ANALYST")->composing(),
         "only this analyst's captures (repeatable)")
        ("all", "finished captures too, with their state and end")
        ("since", po::value<std::string>()->value_name("TIME"), "with --all: captures running at or after TIME")
        ("until", po::value<std::string>()->value_name("TIME"), "with --all: captures started at or before TIME")
        ("history", "the same as --all: ended captures and pulls too, from their records")
        ("report", "sum captures, pulls, bytes, packets and time per analyst per day")
        ("by", po::value<std::string>()->value_name("KEYS"), "with --report: analyst, day or analyst,day (the default)")
        ("clean", "remove the temporary files that tools killed before they finished left behind")
        ("verify-audit", "check the hash chain of the audit-log (or of each FILE, oldest first)");
    tool.takes_operands("FILE");
}

}  // namespace capture
