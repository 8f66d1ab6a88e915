// Pulling the flows of many alerts at once (cap-pull --from-alert).
//
// Each alert (text/alerts.hpp) becomes a job: its flow's expression, made
// VLAN-safe as --vlan makes one, and its window, the alert's time and
// duration widened by a margin. Jobs whose windows overlap, or whose
// windows need a file in common, are pulled together, as one group: the
// archive's files for the group's whole window are read once (pull.hpp,
// every core), through one program that is the OR of the group's
// expressions, into a temporary capture that holds only what some job may
// want. That capture is then split: each of its packets goes through each
// job's own window and program, into that job's output (or the one merged
// output). So N alerts over the same hours read those hours once, not N
// times, and each output holds exactly what its own pull would.
//
// An expression that changes the offsets of what follows it in libpcap
// (vlan, mpls, pppoes, geneve) cannot be OR-ed with others: a group that
// holds one reads everything of its window for the split to sort out.
#pragma once

#include "capture/engine/archive.hpp"
#include "capture/engine/pull.hpp"
#include "capture/engine/pull_plan.hpp"
#include "capture/engine/time_window.hpp"
#include "capture/pcap/bpf.hpp"
#include "capture/pcap/capture_reader.hpp"
#include "capture/pcap/capture_writer.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/time_arg.hpp"
#include "capture/text/alerts.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <numeric>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace capture {

/// How far a pull reaches before and after an alert's flow, in seconds.
struct alert_margin {
    std::int64_t before = 300;  ///< before its first instant
    std::int64_t after = 300;   ///< after its last
};

/// The margin "DURATION" (both sides) or "BEFORE,AFTER" asks for ("5m",
/// "10m,1m", "0"). Throws usage_error naming what.
inline alert_margin parse_alert_margin(std::string_view text, std::string_view what) {
    alert_margin m;
    auto comma = text.find(',');
    std::uint64_t before = parse_duration(text.substr(0, comma), what);
    std::uint64_t after = comma == std::string_view::npos ? before : parse_duration(text.substr(comma + 1), what);
    const std::uint64_t most = 366ull * 86400;
    if (before > most || after > most) throw usage_error(std::string(what) + ": '" + std::string(text) + "' is over a year");
    m.before = static_cast<std::int64_t>(before);
    m.after = static_cast<std::int64_t>(after);
    return m;
}

/// One alert to pull: what, when, and what to call it.
struct alert_job {
    flow_alert alert;         ///< as read
    std::string expression;   ///< the flow's expression as made or given (recorded as expr)
    std::string compiled;     ///< what is matched: VLAN-safe unless told not
    time_window window;       ///< [since, until)
    std::string description;  ///< what names the pull: the signature, the uid, the id
};

/// What names an alert's pull: its signature, else its uid, else its id,
/// else its line. Throws nothing but std::bad_alloc.
inline std::string alert_description(const flow_alert& a) {
    if (!a.signature.empty()) return a.signature;
    if (!a.uid.empty()) return "alert " + a.uid;
    if (!a.alert_id.empty()) return "alert " + a.alert_id;
    return "alert line " + std::to_string(a.line);
}

/// The job of alert a: its expression (made VLAN-safe when vlan), its
/// window (since/until as given; else from its time, flow start and end
/// and duration, widened by margin). now reads relative times. Throws
/// usage_error for a time that cannot be read (the caller names the line).
inline alert_job make_alert_job(flow_alert a, const alert_margin& margin, bool vlan, std::int64_t now) {
    alert_job j;
    j.expression = flow_expression(a);
    j.compiled = vlan ? vlan_expression(j.expression) : j.expression;
    j.description = alert_description(a);
    time_window& w = j.window;
    if (!a.since.empty() || !a.until.empty()) {
        w = make_time_window(a.since, a.until, now);
    } else {
        timestamp start = parse_time_point(a.time, "time", now), end = start;
        if (!a.start_time.empty()) start = std::min(start, parse_time_point(a.start_time, "flow start", now));
        if (!a.end_time.empty()) end = std::max(end, parse_time_point(a.end_time, "end", now));
        if (a.duration > 0) {
            const double whole = std::floor(a.duration);
            std::int64_t s = start.sec + static_cast<std::int64_t>(whole);
            std::int64_t ns = start.nsec + static_cast<std::int64_t>((a.duration - whole) * 1e9);
            timestamp t{s + ns / 1000000000, static_cast<std::uint32_t>(ns % 1000000000)};
            end = std::max(end, t);
        }
        w.since = timestamp{start.sec - margin.before, start.nsec};
        w.until = margin.after ? timestamp{end.sec + margin.after, end.nsec}
                               : end.nsec + 1 < 1000000000 ? timestamp{end.sec, end.nsec + 1} : timestamp{end.sec + 1, 0};
        w.has_since = w.has_until = true;
    }
    j.alert = std::move(a);
    return j;
}

/// Jobs pulled together: their indices, the window that holds all of
/// theirs and the one expression that matches what any of them wants.
struct alert_group {
    std::vector<std::size_t> jobs;  ///< indices into the jobs, by window start
    time_window window;             ///< the union of their windows (and what lies between)
    std::string expression;         ///< the OR of their expressions (as compiled), "" for everything
};

namespace detail {

// True when expression holds a keyword after which libpcap reads the rest
// of the whole expression at other offsets.
inline bool shifts_offsets(const std::string& expression) {
    static const std::regex keyword(R"((^|[^A-Za-z0-9_])(vlan|mpls|pppoes|geneve)($|[^A-Za-z0-9_]))");
    return std::regex_search(expression, keyword);
}

}  // namespace detail

/// The groups of jobs (see the header comment): jobs whose windows
/// overlap, or which need a file of scan in common, are one group. Groups
/// come in time order, and their windows do not overlap. vlan: the
/// expressions were made VLAN-safe (the OR is made so once, whole).
/// Throws nothing but std::bad_alloc.
inline std::vector<alert_group> group_alert_jobs(const std::vector<alert_job>& jobs, const archive_scan& scan,
                                                 bool vlan) {
    std::vector<std::size_t> order(jobs.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return jobs[a].window.since < jobs[b].window.since; });
    // Sorted by start, a job joins the group before it when it starts
    // before that group ends, or needs a file the group needs.
    std::vector<alert_group> groups;
    std::vector<std::size_t> last_file_group(scan.files.size(), SIZE_MAX);
    for (std::size_t i : order) {
        const time_window& w = jobs[i].window;
        bool join = !groups.empty() && w.since < groups.back().window.until;
        std::vector<std::size_t> files;
        for (const auto& f : select_files(scan, w.since_second(), w.until_second())) {
            files.push_back(f.order);
            if (!groups.empty() && f.order < last_file_group.size() && last_file_group[f.order] == groups.size() - 1)
                join = true;
        }
        if (!join) {
            groups.emplace_back();
            groups.back().window = w;
        }
        alert_group& g = groups.back();
        g.jobs.push_back(i);
        g.window.until = std::max(g.window.until, w.until);
        for (std::size_t f : files)
            if (f < last_file_group.size()) last_file_group[f] = groups.size() - 1;
    }
    for (auto& g : groups) {
        std::vector<std::string> parts;
        bool everything = false;
        for (std::size_t i : g.jobs) {
            const std::string& e = jobs[i].expression;
            if (e.find_first_not_of(" \t\n") == std::string::npos || detail::shifts_offsets(e)) everything = true;
            if (std::find(parts.begin(), parts.end(), e) == parts.end()) parts.push_back(e);
        }
        if (everything) continue;  // "": every packet of the window
        std::string joined;
        if (parts.size() == 1) {
            joined = parts.front();
        } else {
            for (const auto& p : parts) joined += (joined.empty() ? "(" : " or (") + p + ")";
        }
        g.expression = vlan ? vlan_expression(joined) : joined;
    }
    return groups;
}

/// Where the split writes one job's packets (several jobs may share one,
/// with --merge).
struct alert_output {
    capture_writer* out = nullptr;          ///< the writer
    std::uint64_t packets = 0;              ///< packets written by the split
    std::optional<timestamp> first, last;   ///< the first and last of them
};

/// Reads the group's capture at path (what its OR matched) once and
/// writes each packet to the output of every job whose window holds it
/// and whose own expression matches it; an output shared by several jobs
/// gets each packet once. outputs[k] is the output of jobs[group.jobs[k]].
/// Returns the packets read. stop ends it early. Throws error when a
/// capture cannot be read or written, expression_error when a job's
/// expression means nothing for a link type met.
inline std::uint64_t split_alert_matches(const std::string& path, const alert_group& group,
                                         const std::vector<alert_job>& jobs, const std::vector<alert_output*>& outputs,
                                         const std::atomic<bool>& stop) {
    capture_reader r(path);
    std::vector<std::unique_ptr<matcher_set>> matchers;
    for (std::size_t i : group.jobs) matchers.push_back(std::make_unique<matcher_set>(jobs[i].compiled));
    std::vector<alert_output*> written;  // the outputs this packet went to
    packet_view p;
    std::uint64_t read = 0;
    while (r.next(p)) {
        if ((++read & 4095) == 0 && stop.load(std::memory_order_relaxed)) break;
        const interface_info& i = r.interfaces().at(p.interface);
        written.clear();
        for (std::size_t k = 0; k < group.jobs.size(); ++k) {
            const alert_job& job = jobs[group.jobs[k]];
            alert_output* o = outputs[k];
            if (!job.window.contains(p.ts)) continue;
            if (std::find(written.begin(), written.end(), o) != written.end()) continue;
            if (!matchers[k]->get(i.linktype, i.snaplen).matches(p)) continue;
            o->out->write(p, o->out->add_interface(i.linktype, i.snaplen));
            if (!o->first) o->first = p.ts;
            o->last = p.ts;
            ++o->packets;
            written.push_back(o);
        }
    }
    return read;
}

}  // namespace capture
