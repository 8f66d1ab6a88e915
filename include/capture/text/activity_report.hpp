// Who captured what: captures, pulls, bytes, packets and time summed per
// analyst, per day or per both (cap-ls --report [--by ...], cap-ls(1)),
// as a table for a person or as records for a pipe (so that a cron line
// can mail it).
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/error.hpp"
#include "capture/sys/time_format.hpp"
#include "capture/text/output.hpp"
#include "capture/text/record.hpp"

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace capture {

/// What a report sums by.
enum class report_by { analyst, day, analyst_day };

/// The --by value: "analyst", "day", "analyst,day" (or "day,analyst").
/// Throws usage_error for anything else.
inline report_by parse_report_by(std::string_view text) {
    if (text == "analyst") return report_by::analyst;
    if (text == "day") return report_by::day;
    if (text == "analyst,day" || text == "day,analyst") return report_by::analyst_day;
    throw usage_error("--by: '" + std::string(text) + "' is not analyst, day or analyst,day");
}

/// One capture as a report counts it.
struct activity_entry {
    std::string analyst;        ///< who
    std::string kind;           ///< live, pull, merge ...
    std::int64_t started = 0;   ///< seconds since the epoch
    std::int64_t ended = 0;     ///< now, for one still running
    std::uint64_t bytes = 0;    ///< bytes of its file
    std::uint64_t packets = 0;  ///< packets in it
};

/// The activity entry of a record (bytes and packets 0 when unsaid or
/// unreadable). Throws nothing but std::bad_alloc.
inline activity_entry activity_of(const record& r, std::int64_t started, std::int64_t ended) {
    auto number = [&](const char* key) -> std::uint64_t {
        try {
            return std::stoull(r.get(key, "0"));
        } catch (const std::exception&) {
            return 0;  // a hand-edited record: counted as nothing
        }
    };
    return activity_entry{r.get("analyst"), r.get("kind"), started, ended, number("bytes"), number("packets")};
}

/// One line of a report.
struct activity_row {
    std::string day;               ///< YYYY-MM-DD in local time (empty when by analyst)
    std::string analyst;           ///< empty when by day
    std::uint64_t captures = 0;    ///< capture files made, pulls and merges included
    std::uint64_t pulls = 0;       ///< of which pulls
    std::uint64_t bytes = 0;       ///< their bytes
    std::uint64_t packets = 0;     ///< their packets
    std::int64_t seconds = 0;      ///< the time they ran
};

/// The entries summed by by, sorted by day then analyst. A capture counts
/// on the local day it started. Throws nothing but std::bad_alloc.
inline std::vector<activity_row> sum_activity(const std::vector<activity_entry>& entries, report_by by) {
    std::map<std::pair<std::string, std::string>, activity_row> rows;
    for (const auto& e : entries) {
        std::string day;
        if (by != report_by::analyst) {
            std::time_t t = static_cast<std::time_t>(e.started);
            std::tm tm{};
            ::localtime_r(&t, &tm);
            char text[16];
            std::strftime(text, sizeof text, "%Y-%m-%d", &tm);
            day = text;
        }
        std::string analyst = by == report_by::day ? std::string() : e.analyst;
        activity_row& r = rows[{day, analyst}];
        r.day = day;
        r.analyst = analyst;
        ++r.captures;
        if (e.kind == "pull") ++r.pulls;
        r.bytes += e.bytes;
        r.packets += e.packets;
        r.seconds += e.ended > e.started ? e.ended - e.started : 0;
    }
    std::vector<activity_row> out;
    for (auto& [key, row] : rows) out.push_back(std::move(row));
    return out;
}

/// Writes the rows: a table with a header for a person, else one record
/// each (analyst, day, captures, bytes, seconds, pulls, packets; the keys
/// of what it is not by left out). Throws nothing but std::bad_alloc.
inline void write_activity_report(std::ostream& out, const std::vector<activity_row>& rows, report_by by,
                                  output_mode mode) {
    const bool days = by != report_by::analyst, analysts = by != report_by::day;
    if (mode == output_mode::human) {
        if (rows.empty()) return;
        std::string header = std::string(days ? "Day         " : "") + (analysts ? "Analyst          " : "") +
                             "Captures  Size          Time          Pulls  Packets\n";
        out << header;
        for (const auto& r : rows) {
            char line[512];
            std::snprintf(line, sizeof line, "%s%s%8llu  %-12s  %-12s  %5llu  %llu\n",
                          days ? (r.day + std::string(12 - std::min<std::size_t>(12, r.day.size()), ' ')).c_str() : "",
                          analysts ? (r.analyst.size() >= 16 ? r.analyst + " "
                                                             : r.analyst + std::string(17 - r.analyst.size(), ' '))
                                         .c_str()
                                   : "",
                          static_cast<unsigned long long>(r.captures), format_bytes_human(r.bytes).c_str(),
                          format_duration(static_cast<double>(r.seconds)).c_str(),
                          static_cast<unsigned long long>(r.pulls), static_cast<unsigned long long>(r.packets));
            out << line;
        }
        return;
    }
    for (const auto& r : rows) {
        record rec;
        if (analysts) rec.set("analyst", r.analyst);
        if (days) rec.set("day", r.day);
        rec.set("captures", std::to_string(r.captures));
        rec.set("bytes", std::to_string(r.bytes));
        rec.set("seconds", std::to_string(r.seconds));
        rec.set("pulls", std::to_string(r.pulls));
        rec.set("packets", std::to_string(r.packets));
        write_record(out, rec, mode);
    }
}

}  // namespace capture
