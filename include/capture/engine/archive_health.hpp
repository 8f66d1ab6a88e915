// What an archive holds and where it is thin (cap-info --archive,
// cap-info(1) "ARCHIVE HEALTH"): the time it covers, the gaps between its
// files, files truncated or unreadable, disk use and days left at the
// rate it fills, the oldest data, and live captures gone stale.
//
// It reads names, headers and the first and last packet of each file, not
// whole files, where that can be done without guessing wrong: for classic
// pcap, the last packet is found by a boundary guess near the end
// (plain_pcap.hpp) that only counts when its chain of records ends exactly
// at the end of the file; anything else (a file cut inside a record, a
// guess that does not land, pcapng, another byte order) is walked whole
// by capture_reader, whose answer is exact. A wrong answer is worse than a
// slow one.
#pragma once

#include "capture/engine/archive.hpp"
#include "capture/engine/registry.hpp"
#include "capture/pcap/capture_reader.hpp"
#include "capture/pcap/pcapng_blocks.hpp"
#include "capture/pcap/plain_pcap.hpp"
#include "capture/sys/fd.hpp"
#include "capture/sys/time_arg.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace capture {

/// One file of an archive as the health check saw it.
struct file_health {
    std::string path;                 ///< DIR/NAME
    std::uint64_t size = 0;           ///< bytes
    std::optional<timestamp> first;   ///< its first packet
    std::optional<timestamp> last;    ///< its last whole packet
    bool walked = false;              ///< read whole (no shortcut to its end)
    bool newest = false;              ///< the newest of its directory (its daemon may be writing it)
    std::string problem;              ///< why it is bad: unreadable, truncated ...; empty when good
    std::optional<std::uint64_t> drops;  ///< pcapng: packets dropped, as the last interface statistics blocks say
};

/// A stretch between two files that no packet covers.
struct archive_gap {
    timestamp from;                   ///< the last packet before it
    timestamp to;                     ///< the first packet after it
    std::string before, after;        ///< the files either side
};

/// What the health check found.
struct archive_health {
    std::vector<file_health> files;   ///< in archive order
    std::vector<std::string> problems;  ///< directories that could not be read
    std::vector<archive_gap> gaps;    ///< longer than the threshold
    std::size_t bad = 0;              ///< files with a problem
    std::uint64_t bytes = 0;          ///< bytes of all files
    std::optional<timestamp> first;   ///< the oldest packet
    std::optional<timestamp> last;    ///< the newest packet
    std::uint64_t disk_free = 0;      ///< bytes free to unprivileged users on the first directory's file system
    std::uint64_t disk_size = 0;      ///< bytes of that file system
    double rate = 0;                  ///< bytes per second the archive grew at over its span (0: unknown)
    std::optional<double> days_left;  ///< disk_free at that rate
};

namespace detail {

// The last whole packet's time of plain pcap m by a guess near its end,
// when the chain from the guess ends exactly at the end of the file.
inline std::optional<timestamp> plain_pcap_tail(const mapped_file& m, const plain_pcap& h, std::uint32_t first_sec) {
    const std::uint64_t size = m.size();
    for (std::uint64_t back : {std::uint64_t{256} << 10, std::uint64_t{4} << 20}) {
        const std::uint64_t from = size > back + 24 ? size - back : 24;
        const std::uint64_t at = from == 24 ? 24 : find_record_start(m, h, from, first_sec);
        if (at == 0) continue;
        const std::uint8_t* d = m.data();
        std::uint64_t q = at;
        std::optional<timestamp> last;
        while (size - q >= 16) {
            const std::uint32_t sec = load32<false>(d + q), frac = load32<false>(d + q + 4);
            const std::uint32_t caplen = load32<false>(d + q + 8), origlen = load32<false>(d + q + 12);
            if (!h.header_ok(frac, caplen, origlen) || caplen > size - q - 16) break;
            last = timestamp{sec, frac * h.ns_per_frac};
            q += 16 + caplen;
        }
        if (q == size && last) return last;
        if (from == 24) return std::nullopt;  // walked from the first record: not a clean end
    }
    return std::nullopt;
}

// The drops the interface statistics blocks at the end of pcapng data say
// (isb_ifdrop, the latest block of each interface, summed), walking back
// from the end over blocks whose leading and trailing lengths agree;
// nothing when no such block ends the file.
template <bool Swap>
inline std::optional<std::uint64_t> pcapng_trailing_drops(const std::uint8_t* d, std::uint64_t size) {
    std::optional<std::uint64_t> drops;
    std::vector<std::uint32_t> seen;
    std::uint64_t end = size;
    while (end >= 28) {
        const std::uint32_t len = load32<Swap>(d + end - 4);
        if (len < 28 || len % 4 || len > end) break;
        const std::uint64_t at = end - len;
        if (load32<Swap>(d + at + 4) != len || load32<Swap>(d + at) != pcapng_isb) break;
        const std::uint32_t iface = load32<Swap>(d + at + 8);
        if (std::find(seen.begin(), seen.end(), iface) == seen.end()) {
            seen.push_back(iface);
            for (std::uint64_t o = at + 20; o + 4 <= end - 4;) {
                const std::uint16_t code = load16<Swap>(d + o), olen = load16<Swap>(d + o + 2);
                if (code == 0 || o + 4 + olen > end - 4) break;
                if (code == 5 && olen == 8) drops = drops.value_or(0) + load64<Swap>(d + o + 4);
                o += 4 + ((olen + 3u) & ~3u);
            }
        }
        end = at;
    }
    return drops;
}

// Fills f's first and last packet and its problem.
inline void check_file(file_health& f) {
    try {
        mapped_file m(f.path);
        capture_reader r(m, f.path);
        packet_view p;
        if (!r.next(p)) return;  // no packet: nothing to cover
        f.first = p.ts;
        plain_pcap h;
        if (plain_pcap_header(m, h)) {
            if (auto t = plain_pcap_tail(m, h, static_cast<std::uint32_t>(p.ts.sec))) {
                f.last = *t;
                return;
            }
        }
        f.walked = true;
        if (r.format() == file_format::pcapng)
            f.drops = r.byte_swapped() ? pcapng_trailing_drops<true>(m.data(), m.size())
                                       : pcapng_trailing_drops<false>(m.data(), m.size());
        f.last = p.ts;
        try {
            while (r.next(p)) f.last = p.ts;
        } catch (const std::exception& e) {
            f.problem = e.what();
        }
    } catch (const std::exception& e) {
        f.problem = e.what();
    }
}

}  // namespace detail

/// Checks the archive directories: every capture file's first and last
/// packet (see the header comment), the gaps between consecutive files
/// longer than gap_seconds, bad files (the newest file of a directory cut
/// inside its last record is being written, not bad), disk use of the
/// first directory and days left at the rate the archive grew. Throws
/// only std::bad_alloc.
inline archive_health check_archive_health(const std::vector<std::string>& directories, double gap_seconds) {
    archive_health out;
    archive_scan scan = scan_archives(directories);
    out.problems = scan.problems;
    for (const auto& a : scan.files) {
        file_health f;
        f.path = a.path;
        f.size = a.size;
        f.newest = a.newest;
        detail::check_file(f);
        if (!f.problem.empty() && f.newest && f.first && f.problem.find("truncated") != std::string::npos)
            f.problem.clear();  // its daemon is writing its last record
        if (!f.problem.empty()) ++out.bad;
        out.bytes += f.size;
        out.files.push_back(std::move(f));
    }
    // Gaps in time order of the files' packets.
    std::vector<const file_health*> timed;
    for (const auto& f : out.files)
        if (f.first && f.last) timed.push_back(&f);
    std::stable_sort(timed.begin(), timed.end(), [](const file_health* a, const file_health* b) { return *a->first < *b->first; });
    const file_health* reach = nullptr;  // the file whose last packet is the latest so far
    for (const file_health* f : timed) {
        if (!out.first || *f->first < *out.first) out.first = f->first;
        if (reach) {
            const double gap = static_cast<double>(f->first->sec - reach->last->sec) +
                               (static_cast<double>(f->first->nsec) - static_cast<double>(reach->last->nsec)) / 1e9;
            if (gap > gap_seconds) out.gaps.push_back(archive_gap{*reach->last, *f->first, reach->path, f->path});
        }
        if (!reach || *reach->last < *f->last) reach = f;
    }
    if (reach) out.last = reach->last;
    if (!directories.empty()) {
        struct statvfs vfs {};
        if (::statvfs(directories.front().c_str(), &vfs) == 0) {
            out.disk_free = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
            out.disk_size = static_cast<std::uint64_t>(vfs.f_blocks) * vfs.f_frsize;
        }
    }
    if (out.first && out.last && out.last->sec > out.first->sec) {
        out.rate = static_cast<double>(out.bytes) / static_cast<double>(out.last->sec - out.first->sec);
        if (out.rate > 0) out.days_left = static_cast<double>(out.disk_free) / out.rate / 86400;
    }
    return out;
}

/// A live capture gone stale: running longer than max_age, or its file
/// not written for longer than idle (seconds; 0: not checked). Throws
/// nothing but std::bad_alloc.
inline std::optional<std::string> stale_reason(const record& r, std::int64_t now, std::int64_t max_age,
                                               std::int64_t idle) {
    if (r.get("kind", "live") != "live" || effective_state(r) != "running") return std::nullopt;
    const std::int64_t started = parse_iso8601(r.get("started"), now);
    if (max_age > 0 && now - started > max_age)
        return "running for " + std::to_string((now - started) / 60) + " min, longer than the stale age";
    const std::int64_t written = file_mtime(r.get("file"));
    if (idle > 0 && written > 0 && now - written > idle)
        return "nothing written for " + std::to_string((now - written) / 60) + " min";
    return std::nullopt;
}

}  // namespace capture
