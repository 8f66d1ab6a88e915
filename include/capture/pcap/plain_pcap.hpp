// Classic pcap walked by hand: what a fast walk needs from a file's header,
// the test a record header must pass to be taken as it is, and the guess of
// a record boundary in the middle of a file.
//
// Only the plain case is covered: classic pcap, this host's byte order,
// version 2.4, microsecond or nanosecond. Anything else, and any record that
// is anything but well formed, is capture_reader's (capture_reader.hpp), so
// the words and the edge cases are the reader's. Pulls (engine/pull.hpp)
// walk several files, or several segments of one, a record of each in turn
// with these; a guessed boundary is only a guess until the walk before it
// lands on it exactly.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/pcap/capture_format.hpp"
#include "capture/sys/fd.hpp"

#include <algorithm>
#include <cstdint>

namespace capture::detail {

// What the walk needs from a plain pcap header.
struct plain_pcap {
    std::uint32_t linktype = 0;
    std::uint32_t snaplen = 0;
    std::uint32_t max_caplen = 0;
    std::uint32_t frac_per_sec = 1000000;
    std::uint32_t ns_per_frac = 1000;
    int ts_digits = 6;

    /// True for a record header the walk takes as it is: a captured length
    /// the link type allows and no longer than the original, a fraction
    /// below a second. Whether the bytes it announces are there is the
    /// caller's question.
    bool header_ok(std::uint32_t frac, std::uint32_t caplen, std::uint32_t origlen) const noexcept {
        return caplen <= max_caplen && caplen <= origlen && frac < frac_per_sec;
    }
};

/// Fills h from the header of m when m is plain pcap (above); false, h
/// untouched or partly filled, for anything else. Throws nothing.
inline bool plain_pcap_header(const mapped_file& m, plain_pcap& h) {
    if (m.size() < 24) return false;
    const std::uint8_t* d = m.data();
    std::uint32_t magic = load32<false>(d);
    if (magic != pcap_magic_us && magic != pcap_magic_ns) return false;
    if (load16<false>(d + 4) != 2 || load16<false>(d + 6) != 4) return false;
    h.snaplen = load32<false>(d + 16);
    h.linktype = load32<false>(d + 20) & 0xffff;
    h.max_caplen = max_caplen_for_linktype(h.linktype);
    if (magic == pcap_magic_ns) {
        h.frac_per_sec = 1000000000;
        h.ns_per_frac = 1;
        h.ts_digits = 9;
    }
    return true;
}

// A chain whose records look this alike is taken for the real one, for now.
inline constexpr int resync_records = 8;
// How far a guess looks for a boundary before giving up on the segment.
inline constexpr std::uint64_t resync_reach = std::uint64_t{1} << 20;

/// The first offset in [from, from + resync_reach) where resync_records
/// plausible records follow one another (lengths the link type allows,
/// fraction below a second, times within a day of the file's first packet
/// or of each other), or 0 when there is none. Throws nothing.
inline std::uint64_t find_record_start(const mapped_file& m, const plain_pcap& h, std::uint64_t from,
                                       std::uint32_t first_sec) {
    const std::uint8_t* d = m.data();
    const std::uint64_t size = m.size();
    const std::uint64_t stop = std::min(size, from + resync_reach);
    auto plausible = [&](std::uint64_t at, std::uint32_t near_sec) {
        if (size - at < 16) return false;
        const std::uint8_t* r = d + at;
        const std::uint32_t sec = load32<false>(r), frac = load32<false>(r + 4);
        const std::uint32_t caplen = load32<false>(r + 8), origlen = load32<false>(r + 12);
        const std::uint32_t gap = sec > near_sec ? sec - near_sec : near_sec - sec;
        return h.header_ok(frac, caplen, origlen) && caplen <= size - at - 16 && gap <= 86400;
    };
    for (std::uint64_t at = from; at < stop; ++at) {
        std::uint64_t q = at;
        std::uint32_t near_sec = first_sec;
        int n = 0;
        for (; n < resync_records && plausible(q, near_sec); ++n) {
            near_sec = load32<false>(d + q);
            q += 16 + load32<false>(d + q + 8);
        }
        if (n == resync_records) return at;
    }
    return 0;
}

}  // namespace capture::detail
