// The capture file formats: what a file's first bytes say it is, and the
// types every reader and writer of captures shares (a timestamp to the
// nanosecond, a packet as read, an interface, a format error). Also the
// unaligned, byte-order-templated loads that the readers' inner loops use.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/error.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace capture {

/// The kinds of capture file the reader knows.
enum class file_format { pcap, pcap_ns, pcapng };

/// The short name of a format: "pcap", "pcap-ns" or "pcapng". Throws nothing.
inline std::string_view format_name(file_format f) {
    switch (f) {
        case file_format::pcap: return "pcap";
        case file_format::pcap_ns: return "pcap-ns";
        case file_format::pcapng: return "pcapng";
    }
    return "unknown";
}

/// The format as capinfos names it ("Wireshark/tcpdump/... - pcap"). Throws nothing.
inline std::string_view format_description(file_format f) {
    switch (f) {
        case file_format::pcap: return "Wireshark/tcpdump/... - pcap";
        case file_format::pcap_ns: return "Wireshark/tcpdump/... - nanosecond pcap";
        case file_format::pcapng: return "Wireshark/... - pcapng";
    }
    return "unknown";
}

/// One capture interface: the single one of a pcap file, or a pcapng IDB.
struct interface_info {
    std::uint32_t linktype = 0;  ///< LINKTYPE_ value (16 bits)
    std::uint32_t snaplen = 0;   ///< as written in the file (0: no limit in pcapng)
    int ts_digits = 6;           ///< decimal digits of timestamp precision, at most 9
    std::string name;            ///< pcapng if_name; empty when absent
};

/// A point in time, seconds since the epoch and nanoseconds (0 to 999999999).
struct timestamp {
    std::int64_t sec = 0;
    std::uint32_t nsec = 0;

    friend bool operator==(const timestamp& a, const timestamp& b) { return a.sec == b.sec && a.nsec == b.nsec; }
    friend bool operator!=(const timestamp& a, const timestamp& b) { return !(a == b); }
    friend bool operator<(const timestamp& a, const timestamp& b) {
        return a.sec < b.sec || (a.sec == b.sec && a.nsec < b.nsec);
    }
    friend bool operator>(const timestamp& a, const timestamp& b) { return b < a; }
    friend bool operator<=(const timestamp& a, const timestamp& b) { return !(b < a); }
    friend bool operator>=(const timestamp& a, const timestamp& b) { return !(a < b); }
};

/// One packet as read: its header fields and a pointer to its bytes inside
/// the reader's mapping (valid while the reader lives).
struct packet_view {
    timestamp ts;                 ///< normalised to nanoseconds; {0,0} when has_timestamp is false
    std::uint32_t caplen = 0;     ///< bytes at data
    std::uint32_t origlen = 0;    ///< length on the wire
    std::uint32_t interface = 0;  ///< index into capture_reader::interfaces()
    const std::uint8_t* data = nullptr;  ///< the caplen captured bytes
    std::uint64_t offset = 0;     ///< file offset of the record or block
    bool has_timestamp = true;    ///< false for pcapng Simple Packet Blocks
    bool timestamp_carried = false;  ///< the sub-second field was out of range and was carried into the seconds
};

/// A capture file that is malformed or cut short: "PATH: why (at byte N)".
class format_error : public error {
public:
    using error::error;
};

/// The largest captured length libpcap accepts for a link type
/// (max_snaplen_for_dlt: 262144, more for D-Bus, EBHSCR and USBPcap). Throws nothing.
inline std::uint32_t max_caplen_for_linktype(std::uint32_t linktype) {
    switch (linktype) {
        case 231: return 128u * 1024 * 1024;  // DBUS
        case 279: return 8u * 1024 * 1024;    // EBHSCR
        case 249: return 1024u * 1024;        // USBPCAP
        default: return 262144;
    }
}

namespace detail {

inline constexpr std::uint32_t pcap_magic_us = 0xa1b2c3d4;
inline constexpr std::uint32_t pcap_magic_ns = 0xa1b23c4d;
inline constexpr std::uint32_t pcap_magic_modified = 0xa1b2cd34;  // Kuznetzov's 24-byte records
inline constexpr std::uint32_t pcapng_shb = 0x0a0d0d0a;           // the same in both byte orders
inline constexpr std::uint32_t pcapng_bom = 0x1a2b3c4d;
inline constexpr std::uint32_t pcapng_idb = 1;
inline constexpr std::uint32_t pcapng_pb = 2;
inline constexpr std::uint32_t pcapng_spb = 3;
inline constexpr std::uint32_t pcapng_epb = 6;
// A bound on memory, not a format limit: each IDB costs a few dozen bytes
// of ours for 20 of the file's, and a million is far beyond any real file.
inline constexpr std::size_t max_interfaces = std::size_t{1} << 20;

// Unaligned loads through memcpy (no UB); the swap is a template argument so
// the inner loop carries no byte-order test.
template <bool Swap>
inline std::uint16_t load16(const std::uint8_t* p) noexcept {
    std::uint16_t v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (Swap) v = static_cast<std::uint16_t>(__builtin_bswap16(v));
    return v;
}
template <bool Swap>
inline std::uint32_t load32(const std::uint8_t* p) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (Swap) v = __builtin_bswap32(v);
    return v;
}
template <bool Swap>
inline std::uint64_t load64(const std::uint8_t* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (Swap) v = __builtin_bswap64(v);
    return v;
}

__extension__ using uint128 = unsigned __int128;

// What compression a file starts with, for a more helpful refusal.
inline std::string_view compression_of(const std::uint8_t* data, std::size_t size) {
    auto starts = [&](std::initializer_list<std::uint8_t> magic) {
        if (size < magic.size()) return false;
        return std::equal(magic.begin(), magic.end(), data);
    };
    if (starts({0x1f, 0x8b})) return "gzip";
    if (starts({0x28, 0xb5, 0x2f, 0xfd})) return "zstd";
    if (starts({0xfd, '7', 'z', 'X', 'Z', 0x00})) return "xz";
    if (starts({'B', 'Z', 'h'})) return "bzip2";
    if (starts({0x04, 0x22, 0x4d, 0x18})) return "lz4";
    return {};
}

}  // namespace detail

/// The format a file's first bytes announce, or nothing when they are not a
/// pcap or pcapng magic number (a pcapng section header with a bad
/// byte-order magic is not pcapng; one too short to show it still is). Throws nothing.
inline std::optional<file_format> sniff_format(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return std::nullopt;
    std::uint32_t magic = detail::load32<false>(data);
    std::uint32_t swapped = __builtin_bswap32(magic);
    if (magic == detail::pcap_magic_us || swapped == detail::pcap_magic_us || magic == detail::pcap_magic_modified ||
        swapped == detail::pcap_magic_modified)
        return file_format::pcap;
    if (magic == detail::pcap_magic_ns || swapped == detail::pcap_magic_ns) return file_format::pcap_ns;
    if (magic == detail::pcapng_shb) {
        if (size < 12) return file_format::pcapng;
        std::uint32_t bom = detail::load32<false>(data + 8);
        if (bom == detail::pcapng_bom || __builtin_bswap32(bom) == detail::pcapng_bom) return file_format::pcapng;
    }
    return std::nullopt;
}

}  // namespace capture
