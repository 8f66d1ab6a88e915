// cap-info --archive: the health of a rolling archive, as a monitoring
// plugin reports it (Nagios/Icinga conventions: one summary line first,
// exit 0 when all is well, 1 when a gap, a bad file or a stale capture is
// found, 2 for a usage error). See cap-info(1), "ARCHIVE HEALTH".
#pragma once

#include "capture/engine/archive_health.hpp"
#include "capture/engine/cli.hpp"
#include "capture/engine/registry.hpp"
#include "capture/sys/time_arg.hpp"
#include "capture/sys/time_format.hpp"
#include "capture/tool/info_tool.hpp"

#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

namespace capture {

/// Declares the options of the archive health check on tool.
inline void declare_archive_health_options(cli::tool& tool) {
    namespace po = boost::program_options;
    tool.add_options()
        ("archive", po::value<std::vector<std::string>>()->value_name("DIR")->composing(),
         "check the health of the archive in DIR (repeatable): coverage, gaps, bad files, disk, stale captures")
        ("gap", po::value<std::string>()->value_name("DUR"), "with --archive: report gaps longer than DUR (default: 5m)");
}

namespace detail {

inline std::string health_time(const timestamp& t) { return format_iso8601(t.sec); }

}  // namespace detail

/// Runs cap-info --archive; returns the exit code.
inline int run_archive_health(cli::context& ctx) {
    const auto& vm = ctx.vm;
    if (!ctx.operands.empty()) throw usage_error("--archive checks directories: no FILE operands with it");
    const auto dirs = vm["archive"].as<std::vector<std::string>>();
    const double gap = static_cast<double>(parse_duration(vm.count("gap") ? vm["gap"].as<std::string>() : "5m", "--gap"));
    const std::int64_t now = std::time(nullptr);
    const std::int64_t stale_age = static_cast<std::int64_t>(parse_duration(ctx.config.stale_age, "stale-age"));
    archive_health h = check_archive_health(dirs, gap);

    // Live captures gone stale, from the records of the capture directory.
    std::vector<record> stale;
    for (auto& e : list_registry(ctx.config.dir))
        if (auto why = stale_reason(e.rec, now, stale_age, stale_age)) {
            record r{{"kind", "stale"}, {"id", e.rec.get("id")}, {"analyst", e.rec.get("analyst")},
                     {"file", e.rec.get("file")}, {"reason", *why}};
            stale.push_back(std::move(r));
        }

    const bool warn = !h.gaps.empty() || h.bad || !h.problems.empty() || !stale.empty();
    char days[32] = "unknown";
    if (h.days_left) std::snprintf(days, sizeof days, "%.1f", *h.days_left);
    std::string summary = std::string("ARCHIVE ") + (warn ? "WARNING" : "OK") + " - " + std::to_string(h.files.size()) +
                          " files, " + format_bytes_human(h.bytes);
    if (h.first && h.last) summary += ", " + detail::health_time(*h.first) + " to " + detail::health_time(*h.last);
    summary += ", " + std::to_string(h.gaps.size()) + " gaps, " + std::to_string(h.bad + h.problems.size()) +
               " bad, " + std::to_string(stale.size()) + " stale, " + days + " days left";
    summary += " | files=" + std::to_string(h.files.size()) + " bytes=" + std::to_string(h.bytes) +
               "B gaps=" + std::to_string(h.gaps.size()) + " bad=" + std::to_string(h.bad + h.problems.size()) +
               " stale=" + std::to_string(stale.size()) + (h.days_left ? std::string(" days_left=") + days : "");

    std::vector<record> details;
    record a{{"kind", "archive"}, {"state", warn ? "warning" : "ok"}};
    a.set("files", std::to_string(h.files.size()));
    a.set("bytes", std::to_string(h.bytes));
    if (h.first) a.set("first", detail::health_time(*h.first));
    if (h.last) a.set("last", detail::health_time(*h.last));
    if (h.first) a.set("oldest_days", std::to_string((now - h.first->sec) / 86400));
    a.set("gaps", std::to_string(h.gaps.size()));
    a.set("bad", std::to_string(h.bad + h.problems.size()));
    a.set("stale", std::to_string(stale.size()));
    a.set("disk_free", std::to_string(h.disk_free));
    a.set("disk_size", std::to_string(h.disk_size));
    a.set("rate", std::to_string(static_cast<std::uint64_t>(h.rate)));
    if (h.days_left) a.set("days_left", days);
    details.push_back(a);
    for (const auto& g : h.gaps) {
        record r{{"kind", "gap"}, {"file", g.after}};
        r.set("from", detail::health_time(g.from));
        r.set("to", detail::health_time(g.to));
        r.set("seconds", std::to_string(g.to.sec - g.from.sec));
        r.set("before", g.before);
        details.push_back(r);
    }
    for (const auto& p : h.problems) details.push_back(record{{"kind", "bad"}, {"reason", p}});
    for (const auto& f : h.files)
        if (!f.problem.empty()) details.push_back(record{{"kind", "bad"}, {"file", f.path}, {"reason", f.problem}});
    for (const auto& f : h.files)
        if (f.drops && *f.drops > 0)
            details.push_back(record{{"kind", "drops"}, {"file", f.path}, {"drops", std::to_string(*f.drops)}});
    for (auto& s : stale) details.push_back(s);

    if (ctx.output != output_mode::json) *ctx.out << terminal_safe(summary) << '\n';
    if (ctx.output == output_mode::human) {
        const record& s = details.front();
        if (h.first) {
            *ctx.out << "Covered: " << s.get("first") << " to " << s.get("last") << '\n'
                     << "Oldest: " << s.get("first") << " (" << s.get("oldest_days") << " days ago)\n";
        }
        *ctx.out << "Disk: " << format_bytes_human(h.disk_free) << " free of " << format_bytes_human(h.disk_size)
                 << ", filling at " << format_bytes_human(static_cast<std::uint64_t>(h.rate)) << "/s, " << days
                 << " days left\n";
        for (std::size_t i = 1; i < details.size(); ++i) {
            const record& r = details[i];
            const std::string k = r.get("kind");
            if (k == "gap")
                *ctx.out << "Gap: " << r.get("from") << " to " << r.get("to") << " ("
                         << format_duration(std::stod(r.get("seconds"))) << ") before " << r.get("file") << '\n';
            else if (k == "bad")
                *ctx.out << "Bad: " << r.get("reason") << '\n';
            else if (k == "drops")
                *ctx.out << "Drops: " << r.get("drops") << " in " << r.get("file") << '\n';
            else
                *ctx.out << "Stale: " << r.get("id") << " " << r.get("analyst") << " " << r.get("file") << ": "
                         << r.get("reason") << '\n';
        }
    } else {
        for (const auto& r : details) write_record(*ctx.out, r, ctx.output);
    }
    return warn ? exit_failure : exit_ok;
}

/// cap-info's body: the archive health check with --archive, else the
/// description of files. Returns the exit code.
inline int run_info_or_archive(cli::context& ctx) {
    return ctx.vm.count("archive") ? run_archive_health(ctx) : run_info(ctx);
}

}  // namespace capture
