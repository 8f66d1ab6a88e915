// Pulling traffic out of a rolling archive: the files a window needs
// (pull_plan.hpp), filtered on every core, merged in time order into one
// capture.
//
// Two stages, so that memory stays bounded however large the archive:
//   * filtering: each worker takes a few consecutive selected files and
//     walks them together, one record of each in turn (filter_group: plain
//     pcap walked by us, in segments when the files are too few to keep
//     eight walks going, everything else by capture_reader); packets outside
//     the window are skipped on their header alone, the others go through
//     the BPF program (bpf.hpp) on the mapped bytes, and what matches is
//     noted as a 32-byte entry (time, lengths, where its bytes are), its
//     bytes copied while a shared budget lasts. Pages behind the walk are
//     given back as it goes, so a mapping never holds more than a few MiB
//     of our resident memory.
//   * merging, in archive order as groups finish (ordered_pool): a k-way
//     merge of the files' matches by (time, archive order), written with
//     capture_writer. A match is written once no file still to come can
//     hold an earlier packet: files are named by the time they were opened,
//     so a file not yet merged holds nothing before its start less a slack.
// Nothing depends on the number of workers or on timing, so the same
// request on the same archive writes the same bytes.
//
// An interrupt (the stop flag) ends the walks within a few thousand
// packets; the capture then holds every match up to the earliest packet
// that was not read, and says so.
//
// A file cut short while it is walked reads as zeros past its new end
// (fd.hpp): a walk that finds its file shorter than it mapped it drops
// what it found and reads the file again, once, as it is now, and the
// pull names it; a match written from a mapping (not copied) is checked
// after it is written and taken back if its bytes had gone.
#pragma once

#include "capture/engine/archive.hpp"
#include "capture/engine/pull_plan.hpp"
#include "capture/pcap/bpf.hpp"
#include "capture/pcap/capture_reader.hpp"
#include "capture/pcap/capture_writer.hpp"
#include "capture/pcap/plain_pcap.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"
#include "capture/sys/parallel.hpp"
#include "capture/engine/time_window.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace capture {

/// Seconds of slack for merging: a file not yet merged holds no packet
/// earlier than its name's time less this. Larger than the selection
/// slack because it only costs memory for a few seconds of matches.
inline constexpr std::int64_t merge_slack_seconds = 10;

/// Counters a pull keeps up to date for whoever shows its progress.
struct pull_progress {
    std::atomic<std::int64_t> packet_time{0};      ///< seconds of a packet being read now
    std::atomic<std::size_t> files_done{0};        ///< files read to their end
    std::size_t files_total = 0;                   ///< files to read
    std::atomic<std::uint64_t> bytes_read{0};      ///< bytes of files walked, counted as they are walked
    std::uint64_t bytes_total = 0;                 ///< bytes of the files to read
    std::atomic<std::uint64_t> packets_written{0}; ///< packets in the output
};

/// What a pull did.
struct pull_result {
    std::uint64_t packets = 0;               ///< packets written
    std::uint64_t bytes_read = 0;            ///< bytes walked
    std::vector<std::string> failures;       ///< "PATH: why" for files that broke or could not be filtered
    std::vector<std::string> notes;          ///< "PATH: why" for indexes found wrong (their files were scanned)
    bool interrupted = false;                ///< the stop flag ended it early
    timestamp complete_until{time_max, 0};   ///< when interrupted: every match before this is in the output
    std::optional<timestamp> first;          ///< the first packet written
    std::optional<timestamp> last;           ///< the last packet written
};

/// The compiled expression for each link type met, compiled once and
/// shared by the workers.
class matcher_set {
public:
    /// expression is compiled lazily, once per link type.
    explicit matcher_set(std::string expression) : expression_(std::move(expression)) {}

    /// The program for linktype. Throws expression_error (libpcap's words)
    /// when the expression means nothing for that link type (again at each
    /// call: the failure is remembered).
    const bpf_matcher& get(std::uint32_t linktype, std::uint32_t snaplen = 262144) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = matchers_.find(linktype);
        if (it == matchers_.end()) {
            entry e;
            try {
                e.matcher = std::make_unique<bpf_matcher>(expression_, linktype, snaplen);
            } catch (const expression_error& x) {
                e.failure = x.what();
            }
            it = matchers_.emplace(linktype, std::move(e)).first;
        }
        if (!it->second.matcher) throw expression_error(it->second.failure);
        return *it->second.matcher;
    }

private:
    struct entry {
        std::unique_ptr<bpf_matcher> matcher;
        std::string failure;
    };
    std::string expression_;
    std::mutex mutex_;
    std::map<std::uint32_t, entry> matchers_;
};

namespace detail {

// One packet that matched: enough to write it without reading its header again.
struct pull_match {
    std::int64_t sec;
    std::uint32_t nsec;
    std::uint32_t caplen;
    std::uint32_t origlen;
    std::uint32_t iface;
    std::uint64_t data;  // offset of its bytes in the file, or in the copies when copied_bit is set
};

// Set in pull_match::data when the bytes were copied by the worker.
inline constexpr std::uint64_t copied_bit = std::uint64_t{1} << 63;

// The bytes workers may hold as copies of matching packets, all files
// together. Copying the few packets that match while their page is hot
// spares the merge from faulting the mapping in again (for a sparse match,
// one packet per 64 KiB is every page); the budget keeps memory bounded
// when much matches, and what does not fit is read from the mapping.
inline constexpr std::int64_t copy_budget_bytes = std::int64_t{16} << 20;

// A file once filtered: its mapping (pages given back), its matches.
struct filtered_file {
    std::size_t index = 0;  // in plan.files: archive order
    mapped_file map;
    std::vector<pull_match> matches;
    std::vector<interface_info> interfaces;
    std::vector<std::uint32_t> iface_map;  // file interface -> output interface
    std::string failure;
    std::string note;                      // its index did not hold: scanned instead
    bool complete = false;                 // walked to its end
    bool started = false;                  // the walk began
    bool cut = false;                      // the file was cut short under the walk (fd.hpp)
    timestamp read_until{time_min, 0};     // the last packet time walked
    std::size_t cursor = 0;
    std::uint64_t released = 0;            // pages below this offset were given back (walk)
    std::uint64_t merge_released = 0;      // the same for the merge, which touches them again
    std::vector<std::uint8_t> copies;      // copied packet bytes
    std::atomic<std::int64_t>* budget = nullptr;  // where the copies' bytes go back
    filtered_file() = default;
    filtered_file(const filtered_file&) = delete;
    filtered_file& operator=(const filtered_file&) = delete;
    ~filtered_file() {
        if (budget) budget->fetch_add(static_cast<std::int64_t>(copies.size()), std::memory_order_relaxed);
    }
};

// Gives back the mapping's pages below upto (rounded down to a page) once
// at least step bytes have accumulated: they were read and are not needed
// again, and a mapping's touched pages count as our resident memory.
inline void release_pages(const mapped_file& map, std::uint64_t& released, std::uint64_t upto,
                          std::uint64_t step = std::uint64_t{4} << 20) {
    static const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    upto = std::min<std::uint64_t>(upto, map.size()) & ~(page - 1);
    if (!map.data() || upto < released + step || upto <= released) return;
    ::madvise(const_cast<std::uint8_t*>(map.data()) + released, upto - released, MADV_DONTNEED);
    released = upto;
}

inline bool is_truncation(const std::string& what) { return what.find("truncated") != std::string::npos; }

// Walks one file: the window on the header, the program on the bytes.
inline void filter_file(const planned_file& pf, const pull_request& req, matcher_set& matchers, filtered_file& out,
                        pull_progress& progress, const std::atomic<bool>& stop) {
    if (stop.load(std::memory_order_relaxed)) return;
    out.started = true;
    const time_window& w = req.window;
    std::uint64_t reported = 0;
    std::uint64_t packets = 0;
    try {
        out.map = mapped_file(pf.file.path);
        capture_reader r(out.map, pf.file.path);
        out.map.advise_sequential();
        std::vector<const bpf_matcher*> by_iface;
        packet_view p;
        for (;;) {
            if (!r.next(p)) {
                out.complete = true;
                break;
            }
            if ((++packets & 4095) == 0) {
                progress.packet_time.store(p.ts.sec, std::memory_order_relaxed);
                progress.bytes_read.fetch_add(r.position() - reported, std::memory_order_relaxed);
                reported = r.position();
                release_pages(out.map, out.released, p.offset);
                if (stop.load(std::memory_order_relaxed)) break;
            }
            out.read_until = p.ts;
            if (!w.contains(p.ts)) continue;
            while (p.interface >= by_iface.size()) {
                const interface_info& i = r.interfaces()[by_iface.size()];
                try {
                    by_iface.push_back(&matchers.get(i.linktype, i.snaplen));
                } catch (const expression_error& e) {
                    throw error(pf.file.path + ": interface " + std::to_string(by_iface.size()) + " (link type " +
                                std::to_string(i.linktype) + "): " + e.what());
                }
            }
            if (!by_iface[p.interface]->matches(p)) continue;
            std::uint64_t where = static_cast<std::uint64_t>(p.data - out.map.data());
            if (out.budget && out.budget->fetch_sub(p.caplen, std::memory_order_relaxed) >= p.caplen) {
                where = out.copies.size() | copied_bit;
                out.copies.insert(out.copies.end(), p.data, p.data + p.caplen);
            } else if (out.budget) {
                out.budget->fetch_add(p.caplen, std::memory_order_relaxed);
            }
            out.matches.push_back(pull_match{p.ts.sec, p.ts.nsec, p.caplen, p.origlen, p.interface, where});
        }
        out.interfaces = r.interfaces();
        progress.bytes_read.fetch_add(r.position() - reported, std::memory_order_relaxed);
    } catch (const format_error& e) {
        // The newest file is still being written: its last packet may be
        // half there. Everything before it counts, silently.
        if (pf.file.newest && is_truncation(e.what())) out.complete = true;
        else out.failure = e.what();
        out.cut = out.map.length_now() < out.map.size();
    } catch (const std::exception& e) {
        out.failure = e.what();
    }
    if (!out.failure.empty()) out.complete = true;  // nothing more will come of it
    if (out.interfaces.empty() && out.map.data()) {
        // The matches taken before the file broke may be on interfaces of a
        // later section: walk again up to the break to meet them all.
        try {
            capture_reader again(out.map.data(), out.map.size(), pf.file.path);
            packet_view q;
            try {
                while (again.next(q)) {
                }
            } catch (const format_error&) {
            }
            out.interfaces = again.interfaces();
        } catch (const std::exception&) {
        }
    }
    release_pages(out.map, out.released, out.map.size(), 0);
    if (out.complete) progress.files_done.fetch_add(1, std::memory_order_relaxed);
}

// ---- the interleaved walk of classic pcap files ----
//
// A record's header says where the next one starts, so one file's walk is
// a chain of dependent loads, each a miss in the cache; capture_reader
// hides that by prefetching every byte ahead, which costs the memory
// bandwidth of the whole file. Walking several files at once, one record
// of each in turn, keeps several independent chains in flight, and then
// the next header alone need be fetched: about twice as fast on the
// archives daemons write. Only the plain case takes this path (classic
// pcap, this host's byte order, version 2.4); a record that is anything
// but well formed sends the file back to capture_reader, from its start,
// so its words and its edge cases are the reader's.

// Bytes of a walked mapping given back at a time: small, because a worker
// walks several files at once.
inline constexpr std::uint64_t interleaved_release_step = std::uint64_t{1} << 20;

// ---- more chains than files: segments ----
//
// A window of a few files leaves each worker one or two chains, and a chain
// costs a miss per record. A file is then walked as several segments at
// once, each from a record boundary found in the middle of the file by
// its look (find_record_start). That boundary is a guess until checked:
// the segment before must land on it exactly. One that is missed (a guess
// that was wrong, which takes bytes that look like eight records in a row)
// sends the file back to capture_reader, so the guess costs time, never
// a packet. The record tests and the guess are plain_pcap.hpp's.

// A segment is worth its guess from this size up.
inline constexpr std::uint64_t min_segment_bytes = std::uint64_t{4} << 20;
// Chains a worker keeps in flight, files and segments together.
inline constexpr std::size_t chains_per_worker = 8;

// ---- files read through their index ----

// A candidate range up to this long is read with pread(2) rather than
// walked on the mapping.
inline constexpr std::uint64_t indexed_buffer_bytes = std::uint64_t{1} << 20;
//
// Only the candidate ranges are walked, each from a record boundary the
// index recorded to the next; the plan asked for their pages, every file's
// at once, so a cold disk reads them in parallel and nothing else. Whatever does not fit
// (a record that is not whole, a range that does not end on a record, a
// file that is not the plain pcap it was) means the index does not speak
// for the file: false, and the caller scans it instead.
inline bool filter_ranges(const planned_file& pf, const pull_request& req, matcher_set& matchers, filtered_file& out,
                          pull_progress& progress, const std::atomic<bool>& stop, std::string& why) {
    out.map = mapped_file(pf.file.path);
    plain_pcap h;
    if (!plain_pcap_header(out.map, h) || out.map.size() != pf.file.size) {
        why = "the file is not what its index describes";
        return false;
    }
    out.interfaces = {interface_info{h.linktype, h.snaplen, h.ts_digits, {}}};
    const bpf_matcher* m;
    try {
        m = &matchers.get(h.linktype, h.snaplen);
    } catch (const expression_error& e) {
        throw error(pf.file.path + ": interface 0 (link type " + std::to_string(h.linktype) + "): " + e.what());
    }
    out.started = true;
    const std::uint8_t* d = out.map.data();
    const std::uint64_t size = out.map.size();
    for (const auto& r : pf.ranges) {
        if (r.first >= r.second || r.second > size) {
            why = "its index names bytes past the file's end";
            return false;
        }
    }
    // A small range is read into a buffer (one read, no page faults, no
    // page tables to tear down after); a large one is walked on the
    // mapping. The plan asked the disk for both (ask_index): neither reads
    // anything around them.
    ::madvise(const_cast<std::uint8_t*>(d), size, MADV_RANDOM);
    unique_fd fd = open_read(pf.file.path);
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_RANDOM);
    std::vector<std::uint8_t> buf;
    const time_window& w = req.window;
    std::uint64_t packets = 0;
    for (const auto& r : pf.ranges) {
        const std::uint64_t len = r.second - r.first;
        const std::uint8_t* base = d + r.first;  // the range's first byte, wherever it is read from
        if (len <= indexed_buffer_bytes) {
            buf.resize(static_cast<std::size_t>(len));
            if (!detail::pread_fully(fd.get(), buf.data(), buf.size(), r.first)) {
                why = out.map.cut_short_text();
                out.cut = true;
                return false;
            }
            base = buf.data();
        }
        std::uint64_t pos = 0;
        while (pos < len) {
            if (len - pos < 16) {
                why = "its index cuts a record";
                return false;
            }
            const std::uint8_t* rec = base + pos;
            const std::uint32_t sec = load32<false>(rec), frac = load32<false>(rec + 4);
            const std::uint32_t caplen = load32<false>(rec + 8), origlen = load32<false>(rec + 12);
            if (!h.header_ok(frac, caplen, origlen) || caplen > len - pos - 16) {
                why = "its index does not fall on the file's records";
                return false;
            }
            packet_view p;
            p.ts = timestamp{sec, frac * h.ns_per_frac};
            p.caplen = caplen;
            p.origlen = origlen;
            p.data = rec + 16;
            out.read_until = p.ts;
            const std::uint64_t at = r.first + pos + 16;  // the packet's bytes in the file
            pos += 16 + caplen;
            if ((++packets & 4095) == 0) {
                progress.packet_time.store(p.ts.sec, std::memory_order_relaxed);
                if (stop.load(std::memory_order_relaxed)) return true;
            }
            if (!w.contains(p.ts) || !m->matches(p)) continue;
            std::uint64_t where = at;
            if (out.budget && out.budget->fetch_sub(caplen, std::memory_order_relaxed) >= caplen) {
                where = out.copies.size() | copied_bit;
                out.copies.insert(out.copies.end(), p.data, p.data + caplen);
            } else if (out.budget) {
                out.budget->fetch_add(caplen, std::memory_order_relaxed);
            }
            out.matches.push_back(pull_match{p.ts.sec, p.ts.nsec, caplen, origlen, 0, where});
        }
        progress.bytes_read.fetch_add(len, std::memory_order_relaxed);
    }
    // Cut short under the walk: what it read past the new end was zeros.
    if (out.map.length_now() < size) {
        why = out.map.cut_short_text();
        out.cut = true;
        return false;
    }
    out.complete = true;
    progress.files_done.fetch_add(1, std::memory_order_relaxed);
    return true;
}

// Filters files [first, first + count) of the plan into out[0 .. count),
// plain pcap files interleaved (in segments when they are too few), the
// others (and any a record sends back) through filter_file.
inline void filter_group(const pull_plan& plan, std::size_t first, std::size_t count, const pull_request& req,
                         matcher_set& matchers, std::vector<std::unique_ptr<filtered_file>>& out,
                         pull_progress& progress, const std::atomic<bool>& stop) {
    // One chain: a segment [pos, end) of a file, the whole file when it is not split.
    struct walk {
        filtered_file* f;
        std::size_t k;  // the file's place in out
        plain_pcap h;
        const bpf_matcher* matcher;
        std::uint64_t pos = 24;
        std::uint64_t end = 0;         // the next segment's start, or the file's size
        bool last = true;              // the file's last segment: it ends where the file does
        std::uint64_t reported = 0;
        std::uint64_t released = 0;    // pages of this segment given back
        std::uint64_t prefetched = 0;  // sparse prefetching: asked for up to here
        bool newest = false;           // may end in a record its daemon is still writing
        bool live = true;
        bool reached_end = false;      // walked all of [start, end), landing on end exactly
        bool redo = false;
        timestamp read_until{time_min, 0};
        std::vector<pull_match> matches{};
        std::vector<std::uint8_t> copies{};
    };
    std::vector<walk> walks;
    std::vector<std::size_t> generic;
    std::vector<bool> redo(count, false);
    if (stop.load(std::memory_order_relaxed)) return;
    std::vector<std::string> index_notes(count);
    for (std::size_t k = 0; k < count; ++k) {
        const planned_file& pf = plan.files[first + k];
        if (!pf.indexed) continue;
        std::string why;
        bool held;
        try {
            held = filter_ranges(pf, req, matchers, *out[k], progress, stop, why);
        } catch (const std::exception& e) {
            held = false;
            why = e.what();
        }
        if (held) continue;
        auto fresh = std::make_unique<filtered_file>();
        fresh->index = out[k]->index;
        fresh->budget = out[k]->budget;
        out[k] = std::move(fresh);
        index_notes[k] = pf.file.path + ": " + why + "; scanned it";
        generic.push_back(k);
    }
    for (std::size_t k = 0; k < count; ++k) {
        filtered_file& f = *out[k];
        const planned_file& pf = plan.files[first + k];
        if (pf.indexed) continue;
        plain_pcap h;
        try {
            f.map = mapped_file(pf.file.path);
            if (!plain_pcap_header(f.map, h)) {
                generic.push_back(k);
                continue;
            }
            f.interfaces = {interface_info{h.linktype, h.snaplen, h.ts_digits, {}}};
            const bpf_matcher* m;
            try {
                m = &matchers.get(h.linktype, h.snaplen);
            } catch (const expression_error& e) {
                throw error(pf.file.path + ": interface 0 (link type " + std::to_string(h.linktype) + "): " + e.what());
            }
            f.started = true;
            walk wk{&f, k, h, m};
            wk.end = f.map.size();
            wk.newest = pf.file.newest;
            walks.push_back(std::move(wk));
        } catch (const std::exception&) {
            generic.push_back(k);  // the reader says what is wrong, in its words
        }
    }
    // Split the files into segments while there are fewer chains than a worker keeps in flight.
    if (!walks.empty() && walks.size() < chains_per_worker) {
        const std::size_t per_file = (chains_per_worker + walks.size() - 1) / walks.size();
        std::vector<walk> split;
        for (auto& wk : walks) {
            const mapped_file& m = wk.f->map;
            const std::uint64_t size = m.size();
            const std::size_t pieces = static_cast<std::size_t>(
                std::min<std::uint64_t>(per_file, size / min_segment_bytes));
            std::vector<std::uint64_t> starts{24};
            if (pieces > 1 && size >= 40) {
                const std::uint32_t first_sec = load32<false>(m.data() + 24);
                for (std::size_t i = 1; i < pieces; ++i) {
                    std::uint64_t at = find_record_start(m, wk.h, size / pieces * i, first_sec);
                    if (at > starts.back()) starts.push_back(at);
                }
            }
            for (std::size_t i = 0; i < starts.size(); ++i) {
                walk s{wk.f, wk.k, wk.h, wk.matcher};
                s.pos = starts[i];
                s.reported = i == 0 ? 0 : s.pos;  // the file header counts as read too
                s.released = s.pos & ~std::uint64_t{4095};
                s.last = i + 1 == starts.size();
                s.end = s.last ? size : starts[i + 1];
                s.newest = wk.newest && s.last;
                split.push_back(std::move(s));
            }
        }
        walks = std::move(split);
    }
    const time_window& w = req.window;
    std::size_t live = walks.size();
    std::uint64_t steps = 0;
    // With fewer than four chains in flight, asking for a line every 256
    // bytes a few KiB ahead wins back some of the latency they leave.
    const bool sparse = walks.size() < 4;
    auto retire = [&](walk& wk) {
        wk.live = false;
        --live;
    };
    while (live > 0) {
        if ((++steps & 255) == 0) {
            for (auto& wk : walks) {
                if (!wk.live) continue;
                progress.bytes_read.fetch_add(wk.pos - wk.reported, std::memory_order_relaxed);
                wk.reported = wk.pos;
                release_pages(wk.f->map, wk.released, wk.pos, interleaved_release_step);
            }
            progress.packet_time.store(walks.front().read_until.sec, std::memory_order_relaxed);
            if (stop.load(std::memory_order_relaxed)) break;
        }
        for (auto& wk : walks) {
            if (!wk.live) continue;
            const std::uint8_t* d = wk.f->map.data();
            if (!wk.last && wk.pos >= wk.end) {
                retire(wk);
                wk.reached_end = wk.pos == wk.end;  // else the next segment began at no boundary
                if (!wk.reached_end) redo[wk.k] = true;
                continue;
            }
            const std::uint64_t left = wk.end - wk.pos;
            if (left < 16) {
                retire(wk);
                if (left == 0 || wk.newest) wk.reached_end = true;
                else wk.redo = true;
                continue;
            }
            const std::uint8_t* r = d + wk.pos;
            const std::uint32_t sec = load32<false>(r), frac = load32<false>(r + 4);
            const std::uint32_t caplen = load32<false>(r + 8), origlen = load32<false>(r + 12);
            const bool header_ok = wk.h.header_ok(frac, caplen, origlen);
            if (!header_ok || caplen > left - 16) {
                retire(wk);
                // The newest file's last record, half written (a good header, its
                // bytes not all there yet): as the reader would, stop before it.
                if (header_ok && wk.newest) wk.reached_end = true;
                else if (wk.last) wk.redo = true;
                else redo[wk.k] = true;  // a record across a guessed boundary: the guess was wrong
                continue;
            }
            const std::uint64_t next = wk.pos + 16 + caplen;
            __builtin_prefetch(d + next);
            __builtin_prefetch(d + next + 48);
            if (sparse) {
                const std::uint64_t want = std::min<std::uint64_t>(wk.end, next + 8192);
                if (wk.prefetched < next) wk.prefetched = next;
                for (; wk.prefetched < want; wk.prefetched += 256) __builtin_prefetch(d + wk.prefetched);
            }
            packet_view p;
            p.ts = timestamp{sec, frac * wk.h.ns_per_frac};
            p.caplen = caplen;
            p.origlen = origlen;
            p.data = r + 16;
            wk.read_until = p.ts;
            wk.pos = next;
            if (!w.contains(p.ts) || !wk.matcher->matches(p)) continue;
            std::uint64_t where = static_cast<std::uint64_t>(p.data - d);
            filtered_file& f = *wk.f;
            if (f.budget && f.budget->fetch_sub(caplen, std::memory_order_relaxed) >= caplen) {
                where = wk.copies.size() | copied_bit;
                wk.copies.insert(wk.copies.end(), p.data, p.data + caplen);
            } else if (f.budget) {
                f.budget->fetch_add(caplen, std::memory_order_relaxed);
            }
            wk.matches.push_back(pull_match{p.ts.sec, p.ts.nsec, caplen, origlen, 0, where});
        }
    }
    // Each file takes its segments' matches in order, as far as they join up:
    // all of them when every guess held, up to the first segment left
    // unfinished when the walk was stopped.
    for (std::size_t i = 0; i < walks.size();) {
        filtered_file& f = *walks[i].f;
        const std::size_t k = walks[i].k;
        std::size_t j = i;
        while (j < walks.size() && walks[j].k == k) ++j;
        for (std::size_t s = i; s < j; ++s)
            if (walks[s].redo) redo[k] = true;
        bool joined = true;
        for (std::size_t s = i; s < j; ++s) {
            walk& wk = walks[s];
            if (!redo[k]) progress.bytes_read.fetch_add(wk.pos - wk.reported, std::memory_order_relaxed);
            if (redo[k] || !joined) {
                if (f.budget) f.budget->fetch_add(static_cast<std::int64_t>(wk.copies.size()), std::memory_order_relaxed);
                continue;
            }
            if (f.matches.empty() && f.copies.empty()) {
                f.matches = std::move(wk.matches);
                f.copies = std::move(wk.copies);
            } else {
                for (pull_match m : wk.matches) {
                    if (m.data & copied_bit) m.data = ((m.data & ~copied_bit) + f.copies.size()) | copied_bit;
                    f.matches.push_back(m);
                }
                f.copies.insert(f.copies.end(), wk.copies.begin(), wk.copies.end());
            }
            f.read_until = wk.read_until;
            joined = wk.reached_end;
            if (wk.last) f.complete = wk.reached_end;
        }
        // Cut short under the walk: what it read past the new end was zeros
        // (which may also be why it stopped).
        if ((f.complete || redo[k]) && f.map.length_now() < f.map.size()) {
            f.complete = false;
            f.cut = true;
            redo[k] = true;
        }
        if (!redo[k]) {
            release_pages(f.map, f.released, f.map.size(), 0);
            if (f.complete) progress.files_done.fetch_add(1, std::memory_order_relaxed);
        }
        i = j;
    }
    walks.clear();  // segments' copies go before the files that redo theirs make more
    // Files the walk sent back start again, from scratch, with the reader.
    auto start_again = [&](std::size_t k) {
        auto fresh = std::make_unique<filtered_file>();
        fresh->index = out[k]->index;
        fresh->budget = out[k]->budget;
        out[k] = std::move(fresh);  // the old one gives its copies back
    };
    std::vector<std::string> cut(count);  // why a file is read again
    auto cut_note = [](const filtered_file& f) { return f.map.path() + ": " + f.map.cut_short_text(); };
    for (std::size_t k = 0; k < count; ++k) {
        if (!redo[k]) continue;
        if (out[k]->cut) cut[k] = cut_note(*out[k]);
        start_again(k);
        generic.push_back(k);
    }
    std::sort(generic.begin(), generic.end());
    generic.erase(std::unique(generic.begin(), generic.end()), generic.end());
    for (std::size_t k : generic) {
        filter_file(plan.files[first + k], req, matchers, *out[k], progress, stop);
        out[k]->note = index_notes[k];
        // Cut short under the reader: once more, as the file is now.
        if (out[k]->cut && cut[k].empty()) {
            cut[k] = cut_note(*out[k]);
            if (out[k]->complete) progress.files_done.fetch_sub(1, std::memory_order_relaxed);
            start_again(k);
            filter_file(plan.files[first + k], req, matchers, *out[k], progress, stop);
        }
        if (cut[k].empty()) continue;
        filtered_file& f = *out[k];
        if (f.cut) f.matches.clear();  // cut again: nothing of it can be trusted
        f.failure = cut[k] + (f.failure.empty() ? "; read again as it is now" : "; read again: " + f.failure);
    }
}

// The k-way merge of filtered files by (time, archive order).
class pull_merger {
public:
    pull_merger(capture_writer& out, pull_result& result, pull_progress& progress)
        : out_(out), result_(result), progress_(progress) {}

    void add(std::unique_ptr<filtered_file> f) {
        if (f->matches.empty()) return;
        std::uint32_t slot;
        if (!free_.empty()) {
            slot = free_.back();
            free_.pop_back();
            slots_[slot] = std::move(f);
        } else {
            slot = static_cast<std::uint32_t>(slots_.size());
            slots_.push_back(std::move(f));
        }
        heap_.push_back(key_of(slot));
        std::push_heap(heap_.begin(), heap_.end(), later);
    }

    // Writes every pending match earlier than bound.
    void write_before(const timestamp& bound) {
        while (!heap_.empty()) {
            key top = heap_.front();
            if (!(timestamp{top.sec, top.nsec} < bound)) return;
            std::pop_heap(heap_.begin(), heap_.end(), later);
            heap_.pop_back();
            filtered_file& f = *slots_[top.slot];
            if (write_one(f) && ++f.cursor < f.matches.size()) {
                heap_.push_back(key_of(top.slot));
                std::push_heap(heap_.begin(), heap_.end(), later);
            } else {
                slots_[top.slot].reset();  // unmaps it
                free_.push_back(top.slot);
            }
        }
    }

private:
    struct key {
        std::int64_t sec;
        std::uint32_t nsec;
        std::uint32_t slot;
        std::size_t order;
    };
    // The heap's comparison: std heaps keep the greatest on top, so "later" first.
    static bool later(const key& a, const key& b) {
        if (a.sec != b.sec) return a.sec > b.sec;
        if (a.nsec != b.nsec) return a.nsec > b.nsec;
        return a.order > b.order;
    }
    key key_of(std::uint32_t slot) const {
        const filtered_file& f = *slots_[slot];
        const pull_match& m = f.matches[f.cursor];
        return key{m.sec, m.nsec, slot, f.index};
    }

    bool write_one(filtered_file& f) {
        const pull_match& m = f.matches[f.cursor];
        if (m.iface >= f.iface_map.size()) {
            try {
                while (f.iface_map.size() <= m.iface) {
                    const interface_info& i = f.interfaces.at(f.iface_map.size());
                    f.iface_map.push_back(out_.add_interface(i.linktype, i.snaplen));
                }
            } catch (const std::exception& e) {
                result_.failures.push_back(e.what());
                return false;
            }
        }
        timestamp ts{m.sec, m.nsec};
        if (m.data & copied_bit) {
            out_.write(ts, f.copies.data() + (m.data & ~copied_bit), m.caplen, m.origlen, f.iface_map[m.iface]);
        } else {
            out_.write(ts, f.map.data() + m.data, m.caplen, m.origlen, f.iface_map[m.iface]);
            // Written from the mapping: if the file was cut short since it
            // was walked, those bytes were zeros (fd.hpp). The packet is
            // taken back, and the rest of the file with it.
            if (!f.map.holds(m.data + m.caplen)) {
                out_.retract_last(m.caplen);
                result_.failures.push_back(f.map.path() + ": " + f.map.cut_short_text());
                return false;
            }
            release_pages(f.map, f.merge_released, m.data);
        }
        if (!result_.first) result_.first = ts;
        result_.last = ts;
        ++result_.packets;
        progress_.packets_written.store(result_.packets, std::memory_order_relaxed);
        return true;
    }

    capture_writer& out_;
    pull_result& result_;
    pull_progress& progress_;
    std::vector<std::unique_ptr<filtered_file>> slots_;
    std::vector<std::uint32_t> free_;
    std::vector<key> heap_;
};

}  // namespace detail

/// Declares the plan's interfaces on out, in archive order, so a pcap
/// header carries the largest snapshot length and pcapng interface blocks
/// come first; with no file at all, Ethernet (so the output is still a
/// valid, empty capture). Throws error when out cannot hold them.
inline void declare_pull_interfaces(const pull_plan& plan, capture_writer& out) {
    bool any = false;
    for (const auto& f : plan.files)
        for (const auto& i : f.interfaces) {
            out.add_interface(i.linktype, i.snaplen);
            any = true;
        }
    if (!any) out.add_interface(1, standard_max_snaplen);
}

/// Runs the pull of plan into out: filters the files on req.jobs workers,
/// merges and writes the matches. Files that break are named in the
/// result's failures (their packets before the break are kept) and the
/// others go on. stop ends it early (see the header comment). Throws error
/// when the output cannot be written.
inline pull_result run_pull(const pull_plan& plan, const pull_request& req, capture_writer& out,
                            pull_progress& progress, const std::atomic<bool>& stop) {
    pull_result result;
    progress.files_total = plan.files.size();
    progress.bytes_total = plan.bytes;
    declare_pull_interfaces(plan, out);
    matcher_set matchers(req.expression);

    // The earliest time files from i on can hold: their names' times less
    // the slack (an opened file's start is its first packet's own second).
    const std::size_t n = plan.files.size();
    std::vector<timestamp> lower(n + 1, timestamp{time_max, 0});
    for (std::size_t i = n; i-- > 0;) {
        const archive_file& f = plan.files[i].file;
        timestamp own{f.opened ? f.start : f.start - merge_slack_seconds, 0};
        lower[i] = std::min(lower[i + 1], own);
    }

    std::atomic<std::int64_t> budget{detail::copy_budget_bytes};
    detail::pull_merger merger(out, result, progress);
    std::vector<timestamp> unfinished;  // read_until of files an interrupt cut short
    std::exception_ptr write_failure;
    {
        const unsigned jobs = std::max(1u, req.jobs);
        ordered_pool pool(jobs);
        // Files walked together by one worker: up to 8, fewer when there are
        // too few files to keep every worker busy.
        const std::size_t group = std::max<std::size_t>(1, std::min<std::size_t>(8, n / jobs));
        for (std::size_t first = 0; first < n; first += group) {
            const std::size_t count = std::min(group, n - first);
            auto files = std::make_shared<std::vector<std::unique_ptr<detail::filtered_file>>>();
            for (std::size_t k = 0; k < count; ++k) {
                files->push_back(std::make_unique<detail::filtered_file>());
                files->back()->index = first + k;
                files->back()->budget = &budget;
            }
            auto work = [&, files, first, count] {
                detail::filter_group(plan, first, count, req, matchers, *files, progress, stop);
            };
            auto emit = [&, files, first, count] {
                for (std::size_t k = 0; k < count; ++k) {
                    detail::filtered_file& ff = *(*files)[k];
                    if (!ff.failure.empty()) result.failures.push_back(ff.failure);
                    if (!ff.note.empty()) result.notes.push_back(ff.note);
                    if (!ff.complete) unfinished.push_back(ff.started ? ff.read_until : lower[first + k]);
                }
                if (write_failure) return;
                try {
                    for (auto& ff : *files) merger.add(std::move(ff));
                    if (!stop.load(std::memory_order_relaxed)) merger.write_before(lower[first + count]);
                } catch (...) {
                    write_failure = std::current_exception();
                }
            };
            pool.submit(work, emit);
            if (write_failure) break;
        }
        pool.finish();
    }
    if (write_failure) std::rethrow_exception(write_failure);
    timestamp bound{time_max, 0};
    if (!unfinished.empty()) {
        result.interrupted = true;
        for (const auto& t : unfinished) bound = std::min(bound, t);
        result.complete_until = bound;
    }
    merger.write_before(bound);
    result.bytes_read = progress.bytes_read.load();
    return result;
}

}  // namespace capture
