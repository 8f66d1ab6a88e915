// Rolling archives: the directories a capture daemon fills with files, and
// which of those files a time window needs.
//
// The layouts are recognised by name, without opening the files, because a
// sensor's archive holds hundreds of large files and a pull for the last
// hour must not touch last month's:
//   daemonlogger         PREFIX.EPOCH                     (daemonlogger -n PREFIX)
//   dumpcap, tshark      PREFIX_NNNNN_YYYYmmddHHMMSS.pcap[ng]  (-b filesize/duration)
//   tcpdump -G           any name with YYYYmmddHHMMSS or YYYYmmdd-HHMMSS in it
// The date-and-time forms are read in the local time zone, as dumpcap and
// tcpdump's strftime write them (sensors usually run in UTC; TZ=UTC says so
// when they do not). Any other file (tcpdump -C's trace, trace1 ...,
// Suricata's log.pcap.EPOCH is daemonlogger's form) is opened and its first
// packet gives its start; those openings are counted.
//
// A file's start is its name's time; its end is the start of the next file
// of its directory (the newest file: its modification time, the daemon's
// last write). Names are the wall clock when the daemon opened the file, so
// the first packet can lie a second or two on either side: selection
// widens every file by a slack.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/ascii.hpp"
#include "capture/pcap/capture_reader.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"

#include <boost/filesystem.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace capture {

/// How a file's name told its start, if it did.
enum class archive_layout { daemonlogger, dumpcap, tcpdump, unknown };

/// The short name of a layout ("daemonlogger", "dumpcap", "tcpdump", "unknown"). Throws nothing.
inline std::string_view layout_name(archive_layout l) {
    switch (l) {
        case archive_layout::daemonlogger: return "daemonlogger";
        case archive_layout::dumpcap: return "dumpcap";
        case archive_layout::tcpdump: return "tcpdump";
        case archive_layout::unknown: break;
    }
    return "unknown";
}

/// The smallest and largest representable times, for open windows and ends.
inline constexpr std::int64_t time_min = std::numeric_limits<std::int64_t>::min() / 4;
inline constexpr std::int64_t time_max = std::numeric_limits<std::int64_t>::max() / 4;

/// A start time read from a file name.
struct name_time {
    archive_layout layout = archive_layout::unknown;
    std::int64_t start = 0;  ///< seconds since the epoch
};

namespace detail {

inline int digits_value(std::string_view s) {
    int v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return v;
}

// A broken-down time from calendar fields (month 1-12), for mktime or timegm.
inline std::tm calendar_tm(int year, int month, int day, int hour, int minute, int second) {
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    return tm;
}

// "YYYYmmdd" and "HHMMSS" in the local time zone, when they make a real
// date and time (so a serial number is not taken for a date).
inline std::optional<std::int64_t> local_date_time(std::string_view date, std::string_view time) {
    int year = digits_value(date.substr(0, 4)), month = digits_value(date.substr(4, 2)),
        day = digits_value(date.substr(6, 2));
    int hour = digits_value(time.substr(0, 2)), minute = digits_value(time.substr(2, 2)),
        second = digits_value(time.substr(4, 2));
    if (year < 1970 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
        minute > 59 || second > 60)
        return std::nullopt;
    std::tm tm = detail::calendar_tm(year, month, day, hour, minute, second);
    tm.tm_isdst = -1;  // names are local time: let mktime decide summer time
    std::time_t t = std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1)) return std::nullopt;
    return static_cast<std::int64_t>(t);
}

inline bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace detail

/// The start time a file name carries and the layout that wrote it, or
/// nothing when the name carries none. Throws nothing but std::bad_alloc.
inline std::optional<name_time> start_from_name(std::string_view name) {
    // dumpcap: PREFIX_NNNNN_YYYYmmddHHMMSS.pcap or .pcapng
    for (std::string_view ext : {".pcapng", ".pcap"}) {
        if (!detail::ends_with(name, ext)) continue;
        std::string_view stem = name.substr(0, name.size() - ext.size());
        auto u2 = stem.rfind('_');
        if (u2 == std::string_view::npos || u2 == 0) break;
        auto u1 = stem.rfind('_', u2 - 1);
        if (u1 == std::string_view::npos) break;
        std::string_view serial = stem.substr(u1 + 1, u2 - u1 - 1), stamp = stem.substr(u2 + 1);
        if (all_ascii_digits(serial) && stamp.size() == 14 && all_ascii_digits(stamp)) {
            if (auto t = detail::local_date_time(stamp.substr(0, 8), stamp.substr(8)))
                return name_time{archive_layout::dumpcap, *t};
        }
        break;
    }
    // daemonlogger: PREFIX.EPOCH (time(NULL) when the file was opened).
    auto dot = name.rfind('.');
    if (dot != std::string_view::npos && dot > 0) {
        std::string_view epoch = name.substr(dot + 1);
        if (epoch.size() >= 9 && epoch.size() <= 11 && all_ascii_digits(epoch))
            return name_time{archive_layout::daemonlogger, std::stoll(std::string(epoch))};
    }
    // tcpdump -G: a strftime pattern of the analyst's; the usual ones hold
    // %Y%m%d%H%M%S, or the date and the time with one separator between.
    for (std::size_t i = 0; i < name.size();) {
        if (!is_ascii_digit(name[i])) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < name.size() && is_ascii_digit(name[j])) ++j;
        std::string_view run = name.substr(i, j - i);
        if (run.size() == 14) {
            if (auto t = detail::local_date_time(run.substr(0, 8), run.substr(8)))
                return name_time{archive_layout::tcpdump, *t};
        } else if (run.size() == 8 && j + 7 <= name.size() &&
                   (name[j] == '-' || name[j] == '_' || name[j] == 'T' || name[j] == '.')) {
            std::string_view time = name.substr(j + 1, 6);
            bool ends = j + 7 == name.size() || !is_ascii_digit(name[j + 7]);
            if (all_ascii_digits(time) && ends)
                if (auto t = detail::local_date_time(run, time)) return name_time{archive_layout::tcpdump, *t};
        }
        i = j;
    }
    return std::nullopt;
}

/// One capture file of an archive.
struct archive_file {
    std::string path;                   ///< DIR/NAME
    archive_layout layout = archive_layout::unknown;
    std::int64_t start = 0;             ///< seconds: the name's time, or the first packet's
    std::int64_t end = time_max;        ///< the next file's start; the newest: its mtime
    std::int64_t mtime = 0;             ///< last modification, seconds
    std::uint64_t size = 0;             ///< bytes
    std::size_t directory = 0;          ///< index of its archive directory
    std::size_t order = 0;              ///< its place in archive order (ties in time keep it)
    bool newest = false;                ///< the newest of its directory: the daemon may still write it
    bool opened = false;                ///< its start came from its first packet
};

/// What a scan of the archive directories found.
struct archive_scan {
    std::vector<archive_file> files;    ///< every capture file, in archive order
    std::vector<std::string> problems;  ///< "PATH: why" for what could not be read
    std::size_t opened = 0;             ///< files opened to learn their start
};

namespace detail {

// Files that live beside captures and are not captures: our records and
// digest sidecars, and temporary files.
inline bool is_sidecar(std::string_view name) {
    for (std::string_view s : {".record", ".sha256", ".sha1", ".md5", ".sha512", ".sha384", ".sha224", ".tmp"})
        if (ends_with(name, s)) return true;
    return false;
}

// The second of a file's first packet; nothing when it has none. Throws
// error or format_error for a file that is not a readable capture.
inline std::optional<std::int64_t> first_packet_second(const std::string& path) {
    capture_reader r(path);
    packet_view p;
    while (r.next(p))
        if (p.has_timestamp) return p.ts.sec;
    return std::nullopt;
}

}  // namespace detail

/// Lists the capture files of the archive directories, each with its start
/// and end, in archive order: by start, then directory (as given), then
/// name. Names that carry no time are opened for their first packet; a file
/// that cannot be read so, or a directory that cannot be listed, is named in
/// problems and left out. Hidden files, records and digest sidecars are
/// skipped; an unnamed file without packets holds nothing to pull and is
/// left out too. Throws only std::bad_alloc.
inline archive_scan scan_archives(const std::vector<std::string>& directories) {
    namespace fs = boost::filesystem;
    archive_scan scan;
    for (std::size_t d = 0; d < directories.size(); ++d) {
        std::vector<archive_file> files;
        boost::system::error_code ec;
        fs::directory_iterator it(directories[d], ec), end;
        if (ec) {
            scan.problems.push_back(directories[d] + ": " + ec.message());
            continue;
        }
        for (; it != end; it.increment(ec)) {
            if (ec) {
                scan.problems.push_back(directories[d] + ": " + ec.message());
                break;
            }
            std::string name = it->path().filename().string();
            if (name.empty() || name[0] == '.' || detail::is_sidecar(name)) continue;
            std::string path = it->path().string();
            struct stat st {};
            if (::stat(path.c_str(), &st) != 0) {
                scan.problems.push_back(system_failure(path).what());
                continue;
            }
            if (!S_ISREG(st.st_mode)) continue;  // subdirectories, sockets: not ours
            archive_file f;
            f.path = path;
            f.size = static_cast<std::uint64_t>(st.st_size);
            f.mtime = static_cast<std::int64_t>(st.st_mtime);
            f.directory = d;
            if (auto t = start_from_name(name)) {
                f.layout = t->layout;
                f.start = t->start;
            } else {
                ++scan.opened;
                f.opened = true;
                try {
                    auto first = detail::first_packet_second(path);
                    if (!first) continue;
                    f.start = *first;
                } catch (const std::exception& e) {
                    scan.problems.push_back(e.what());
                    continue;
                }
            }
            files.push_back(std::move(f));
        }
        std::sort(files.begin(), files.end(), [](const archive_file& a, const archive_file& b) {
            return a.start != b.start ? a.start < b.start : a.path < b.path;
        });
        for (std::size_t i = 0; i < files.size(); ++i) {
            if (i + 1 < files.size()) {
                files[i].end = files[i + 1].start;
            } else {
                files[i].newest = true;
                files[i].end = std::max(files[i].mtime, files[i].start);
            }
        }
        scan.files.insert(scan.files.end(), std::make_move_iterator(files.begin()),
                          std::make_move_iterator(files.end()));
    }
    std::stable_sort(scan.files.begin(), scan.files.end(), [](const archive_file& a, const archive_file& b) {
        if (a.start != b.start) return a.start < b.start;
        return a.directory < b.directory;  // within one directory, already by name
    });
    for (std::size_t i = 0; i < scan.files.size(); ++i) scan.files[i].order = i;
    return scan;
}

/// The slack, in seconds, by which a name's time may miss its first packet.
inline constexpr std::int64_t name_slack_seconds = 2;

/// True when file f may hold packets in [since, until) (seconds; since and
/// until rounded outwards by the caller), its span widened by slack on both
/// sides. Throws nothing.
inline bool file_overlaps(const archive_file& f, std::int64_t since, std::int64_t until,
                          std::int64_t slack = name_slack_seconds) {
    std::int64_t end = f.end;
    return f.start - slack < until && end + slack >= since;
}

/// The files of scan that may hold packets in [since, until), in archive
/// order. Throws only std::bad_alloc.
inline std::vector<archive_file> select_files(const archive_scan& scan, std::int64_t since, std::int64_t until,
                                              std::int64_t slack = name_slack_seconds) {
    std::vector<archive_file> out;
    for (const auto& f : scan.files)
        if (file_overlaps(f, since, until, slack)) out.push_back(f);
    return out;
}

/// A stretch of time no file covers.
struct coverage_gap {
    std::int64_t from = 0;  ///< seconds
    std::int64_t to = 0;    ///< seconds
};

/// The stretches inside [since, until) of at least min_gap seconds that no
/// file covers, a file being taken to cover from its start to its last
/// write (its mtime: daemons write their last packet and close). An
/// open window is closed by the files' own span. Throws only std::bad_alloc.
inline std::vector<coverage_gap> coverage_gaps(const std::vector<archive_file>& files, std::int64_t since,
                                               std::int64_t until, std::int64_t min_gap = 2 * name_slack_seconds) {
    std::vector<std::pair<std::int64_t, std::int64_t>> spans;
    for (const auto& f : files) spans.emplace_back(f.start, std::max(f.start, f.mtime));
    std::sort(spans.begin(), spans.end());
    std::vector<coverage_gap> gaps;
    if (spans.empty()) {
        if (since > time_min && until < time_max && until - since >= min_gap) gaps.push_back({since, until});
        return gaps;
    }
    if (since <= time_min) since = spans.front().first;
    if (until >= time_max) {
        until = since;
        for (const auto& s : spans) until = std::max(until, s.second);
    }
    std::int64_t covered = since;  // everything before this is covered (or outside)
    for (const auto& [from, to] : spans) {
        if (from >= until) break;
        if (from - covered >= min_gap) gaps.push_back({covered, from});
        covered = std::max(covered, to);
    }
    if (until - covered >= min_gap) gaps.push_back({covered, until});
    return gaps;
}

}  // namespace capture
