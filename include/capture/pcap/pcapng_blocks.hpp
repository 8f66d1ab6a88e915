// pcapng's blocks, one at a time: the names of the block types, an
// interface description block's options (its name, its clock resolution
// and offset), and the turning of an interface's timestamp units into
// seconds and nanoseconds.
//
// The reader (capture_reader.hpp) frames blocks, follows sections and hands
// out packets; what is decided inside one block is here, where it can be
// read and tested apart from the walk. Lengths are checked before use as
// everywhere in the readers; a broken block is a format_error whose text
// says why, without a file name or an offset: the reader, which knows both,
// puts them in front.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/pcap/capture_format.hpp"

#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>

namespace capture::detail {

inline constexpr std::uint32_t pcapng_nrb = 4;
inline constexpr std::uint32_t pcapng_isb = 5;
inline constexpr std::uint32_t pcapng_dsb = 10;

/// The name of a pcapng block type, for messages ("enhanced packet block",
/// "block of type 0x00000bad"). Throws only std::bad_alloc.
inline std::string pcapng_block_name(std::uint32_t type) {
    switch (type) {
        case pcapng_idb: return "interface description block";
        case pcapng_pb: return "packet block";
        case pcapng_spb: return "simple packet block";
        case pcapng_nrb: return "name resolution block";
        case pcapng_isb: return "interface statistics block";
        case pcapng_epb: return "enhanced packet block";
        case pcapng_dsb: return "decryption secrets block";
        default: break;
    }
    const char* digits = "0123456789abcdef";
    std::string hex(8, '0');
    for (int i = 7; i >= 0; --i, type >>= 4) hex[static_cast<std::size_t>(i)] = digits[type & 15];
    return "block of type 0x" + hex;
}

/// How an interface counts time, from its if_tsresol and if_tsoffset
/// options: the units of its timestamps and what they take to become
/// seconds and nanoseconds, decided once per interface so that a packet's
/// conversion is a division or a shift.
struct pcapng_clock {
    enum class kind : std::uint8_t { micro, nano, decimal_up, decimal_down, binary };
    kind unit = kind::micro;
    std::uint8_t shift = 0;          ///< binary: units are 2^-shift s
    std::uint64_t units = 1000000;   ///< decimal: units per second
    std::uint64_t scale = 1000;      ///< decimal: nanoseconds per unit, or units per nanosecond
    std::int64_t offset = 0;         ///< if_tsoffset, seconds
    std::uint32_t max_caplen = 262144;
    std::uint32_t snaplen = 0;
};

/// The time of a 64-bit pcapng timestamp t on an interface with clock c, or
/// nothing when it does not fit an int64 of seconds. Throws nothing.
inline std::optional<timestamp> pcapng_time(const pcapng_clock& c, std::uint64_t t) noexcept {
    std::uint64_t sec, nsec;
    switch (c.unit) {
        case pcapng_clock::kind::micro:
            sec = t / 1000000;
            nsec = t % 1000000 * 1000;
            break;
        case pcapng_clock::kind::nano:
            sec = t / 1000000000;
            nsec = t % 1000000000;
            break;
        case pcapng_clock::kind::decimal_up:
            sec = t / c.units;
            nsec = t % c.units * c.scale;
            break;
        case pcapng_clock::kind::decimal_down:
            sec = t / c.units;
            nsec = t % c.units / c.scale;
            break;
        default: {  // binary
            sec = t >> c.shift;
            const std::uint64_t frac = t & ((std::uint64_t{1} << c.shift) - 1);
            nsec = static_cast<std::uint64_t>(uint128{frac} * 1000000000u >> c.shift);
            break;
        }
    }
    std::int64_t s;
    if (sec > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
        __builtin_add_overflow(static_cast<std::int64_t>(sec), c.offset, &s))
        return std::nullopt;
    return timestamp{s, static_cast<std::uint32_t>(nsec)};
}

/// An interface description block, decoded: what callers see of the
/// interface, and its clock.
struct pcapng_interface {
    interface_info info;
    pcapng_clock clock;
};

/// Decodes the body of an interface description block: the room bytes
/// between its length field and its trailer (a multiple of 4, as framing
/// checked), in the section's byte order. Throws format_error("why") for a
/// block too short, an option running past the block, a repeated or
/// misshapen if_tsresol or if_tsoffset, or a resolution finer than we count.
template <bool Swap>
inline pcapng_interface read_interface_block(const std::uint8_t* body, std::uint32_t room) {
    if (room < 8) throw format_error("interface description block too short (" + std::to_string(room + 12) + " bytes)");
    pcapng_interface out;
    interface_info& info = out.info;
    pcapng_clock& c = out.clock;
    info.linktype = load16<Swap>(body);
    info.snaplen = load32<Swap>(body + 4);
    c.snaplen = info.snaplen;
    c.max_caplen = max_caplen_for_linktype(info.linktype);
    bool have_resolution = false, have_offset = false;
    std::uint8_t resolution = 6;
    std::size_t o = 8;
    // room is a multiple of 4 and each option takes a multiple of 4, so
    // what is left is 0 or at least an option header.
    while (room - o >= 4) {
        const std::uint16_t code = load16<Swap>(body + o);
        const std::uint16_t olen = load16<Swap>(body + o + 2);
        const std::size_t padded = (std::size_t{olen} + 3) & ~std::size_t{3};
        if (padded > room - o - 4)
            throw format_error("interface description block option " + std::to_string(code) + " of " +
                               std::to_string(olen) + " bytes runs past the end of the block");
        const std::uint8_t* value = body + o + 4;
        o += 4 + padded;
        if (code == 0) break;  // opt_endofopt
        if (code == 2) {       // if_name
            const void* nul = std::memchr(value, 0, olen);
            std::size_t n = nul ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - value) : olen;
            info.name.assign(reinterpret_cast<const char*>(value), n);
        } else if (code == 9) {  // if_tsresol
            if (olen != 1 || have_resolution)
                throw format_error(olen != 1 ? "if_tsresol option of " + std::to_string(olen) + " bytes (must be 1)"
                                             : std::string("more than one if_tsresol option"));
            have_resolution = true;
            resolution = *value;
        } else if (code == 14) {  // if_tsoffset
            if (olen != 8 || have_offset)
                throw format_error(olen != 8 ? "if_tsoffset option of " + std::to_string(olen) + " bytes (must be 8)"
                                             : std::string("more than one if_tsoffset option"));
            have_offset = true;
            c.offset = static_cast<std::int64_t>(load64<Swap>(value));
        }
    }
    if (resolution & 0x80) {
        const unsigned n = resolution & 0x7f;
        if (n > 63) throw format_error("if_tsresol 2^-" + std::to_string(n) + " is too fine");
        c.unit = pcapng_clock::kind::binary;
        c.shift = static_cast<std::uint8_t>(n);
        // The decimal digits that resolve 2^-n: the least d with 10^d >= 2^n.
        int digits = 0;
        for (uint128 p10 = 1; p10 < (uint128{1} << n); p10 *= 10) ++digits;
        info.ts_digits = digits < 9 ? digits : 9;
    } else {
        const unsigned e = resolution;
        if (e > 19) throw format_error("if_tsresol 10^-" + std::to_string(e) + " is too fine");
        std::uint64_t units = 1;
        for (unsigned i = 0; i < e; ++i) units *= 10;
        c.units = units;
        if (e == 6) {
            c.unit = pcapng_clock::kind::micro;
        } else if (e == 9) {
            c.unit = pcapng_clock::kind::nano;
        } else if (e < 9) {
            c.unit = pcapng_clock::kind::decimal_up;
            c.scale = 1000000000 / units;
        } else {
            c.unit = pcapng_clock::kind::decimal_down;
            c.scale = units / 1000000000;
        }
        info.ts_digits = e < 9 ? static_cast<int>(e) : 9;
    }
    return out;
}

}  // namespace capture::detail
