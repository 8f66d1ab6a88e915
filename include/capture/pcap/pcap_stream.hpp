// Reading a classic pcap stream as it arrives on a pipe: the header, then
// one record at a time, from a bounded buffer that the caller fills.
//
// capture_reader maps a whole file; a stream from ssh has no end to map
// and arrives in pieces. pcap_stream keeps what has arrived and not yet
// been consumed in one buffer of fixed size (grown only for a record
// larger than it, which the link type bounds), and says whether a whole
// record is there. The caller reads from its descriptor into space() only
// while there is room, so a sender that runs ahead of the merge is held
// back by the pipe, never by our memory. The current packet is kept as an
// offset, not a pointer: reading more may move the buffer's contents.
//
// The checks are capture_reader's for pcap: version 2.x, a captured length
// no larger than the link type allows, an out-of-range fraction carried
// into the seconds; a malformed stream is a format_error naming it and the
// byte offset of the record at fault. pcapng streams are refused: the
// remote cap-pull writes pcap on standard output.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/pcap/capture_format.hpp"
#include "capture/pcap/linktype.hpp"
#include "capture/sys/error.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace capture {

/// The bytes a pcap_stream holds at most, unless one record is larger.
inline constexpr std::size_t pcap_stream_buffer_bytes = std::size_t{1} << 21;

/// One pcap stream, parsed as its bytes arrive.
class pcap_stream {
public:
    /// name is what messages call the stream (a sensor's name).
    explicit pcap_stream(std::string name, std::size_t capacity = pcap_stream_buffer_bytes)
        : name_(std::move(name)), buf_(std::max<std::size_t>(capacity, 64)) {}

    /// Where to put bytes read from the stream, and how many fit (0: the
    /// buffer is full of unconsumed records; consume one first). Moves
    /// what is kept to the front, so a packet() taken before is stale.
    /// Throws nothing but std::bad_alloc.
    std::pair<std::uint8_t*, std::size_t> space() {
        if (begin_ > 0 && (end_ == buf_.size() || begin_ >= buf_.size() / 2)) {
            std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
        // One record larger than the buffer: room for it, and no more.
        if (end_ == buf_.size() && want_ > buf_.size()) buf_.resize(want_);
        return {buf_.data() + end_, buf_.size() - end_};
    }

    /// n bytes were put at space(). Throws nothing.
    void added(std::size_t n) noexcept {
        end_ += n;
        received_ += n;
    }

    /// Parses what has arrived: true when a whole packet is current (see
    /// packet()), false when more bytes are needed. The packet current
    /// before is consumed. Throws format_error for a malformed header or
    /// record (again at every later call).
    bool next() {
        if (!failure_.empty()) throw format_error(failure_);
        if (current_) {
            begin_ += current_size_;
            offset_ += current_size_;
            current_ = false;
        }
        if (!read_header()) return false;
        if (end_ - begin_ < record_header_) return want(record_header_);
        const std::uint8_t* h = buf_.data() + begin_;
        std::uint32_t caplen = u32(h + 8), len = u32(h + 12);
        if (maybe_swapped_lengths_ && caplen > len) std::swap(caplen, len);
        if (caplen > max_caplen_)
            fail("invalid packet capture length " + std::to_string(caplen) + ", bigger than maximum of " +
                 std::to_string(max_caplen_));
        const std::size_t size = record_header_ + caplen;
        if (end_ - begin_ < size) return want(size);
        current_ = true;
        current_size_ = size;
        want_ = 0;
        ++packets_;
        return true;
    }

    /// Reads the stream's header if it has arrived: true once read.
    /// Throws format_error for a header that is no pcap's.
    bool read_header() {
        if (!failure_.empty()) throw format_error(failure_);
        if (header_) return true;
        if (end_ - begin_ < 24) return want(24);
        parse_header();
        return true;
    }

    /// The current packet (after next() said true), pointing into the
    /// buffer: valid until space() or next() is called. Throws nothing.
    packet_view packet() const noexcept {
        packet_view p;
        const std::uint8_t* h = buf_.data() + begin_;
        const std::uint32_t sec = u32(h), frac = u32(h + 4);
        std::uint32_t caplen = u32(h + 8), len = u32(h + 12);
        if (maybe_swapped_lengths_ && caplen > len) std::swap(caplen, len);
        p.timestamp_carried = frac >= frac_per_sec_;
        p.ts.sec = std::int64_t{sec} + frac / frac_per_sec_;
        p.ts.nsec = frac % frac_per_sec_ * ns_per_frac_;
        p.caplen = caplen;
        p.origlen = len;
        p.data = h + record_header_;
        p.offset = offset_;
        return p;
    }

    /// True once the stream's header has been read. Throws nothing.
    bool has_header() const noexcept { return header_; }
    /// The stream's one interface (valid once has_header()). Throws nothing.
    const interface_info& interface() const noexcept { return iface_; }
    /// True for nanosecond timestamps (valid once has_header()). Throws nothing.
    bool nanoseconds() const noexcept { return frac_per_sec_ == 1000000000u; }
    /// Bytes received so far. Throws nothing.
    std::uint64_t received() const noexcept { return received_; }
    /// Whole packets parsed so far. Throws nothing.
    std::uint64_t packets() const noexcept { return packets_; }
    /// Bytes received and not yet consumed, beyond the current packet.
    std::size_t pending() const noexcept { return end_ - begin_ - (current_ ? current_size_ : 0); }
    /// The name given. Throws nothing.
    const std::string& name() const noexcept { return name_; }

    /// Called at the end of the stream: throws format_error ("NAME ended
    /// inside a packet record (...)") when it ended inside the header or a
    /// record, or before any byte came.
    void finish() const {
        if (!failure_.empty()) throw format_error(failure_);
        const std::size_t left = pending();
        if (!header_ && left == 0 && received_ == 0) throw format_error(name_ + " ended before its pcap header");
        if (left)
            throw format_error(name_ + " ended inside " +
                               std::string(header_ ? "a packet record" : "the pcap header") + " (" +
                               std::to_string(left) + " of " + std::to_string(std::max(want_, left + 1)) +
                               " bytes, at byte " + std::to_string(offset_ + (current_ ? current_size_ : 0)) + ")");
    }

private:
    bool want(std::size_t n) noexcept {
        want_ = n;
        return false;
    }

    std::uint32_t u32(const std::uint8_t* p) const noexcept {
        std::uint32_t v;
        std::memcpy(&v, p, 4);
        return swapped_ ? __builtin_bswap32(v) : v;
    }

    [[noreturn]] void fail(const std::string& why) {
        failure_ = name_ + ": " + why + " (at byte " + std::to_string(offset_) + ")";
        throw format_error(failure_);
    }

    void parse_header() {
        const std::uint8_t* h = buf_.data() + begin_;
        std::uint32_t magic;
        std::memcpy(&magic, h, 4);
        auto known = [](std::uint32_t m) {
            return m == detail::pcap_magic_us || m == detail::pcap_magic_ns || m == detail::pcap_magic_modified;
        };
        if (!known(magic)) {
            swapped_ = known(__builtin_bswap32(magic));
            if (!swapped_) {
                if (magic == detail::pcapng_shb) fail("a pcapng stream: only pcap is read from a sensor");
                fail("not a pcap stream");
            }
            magic = __builtin_bswap32(magic);
        }
        const std::uint32_t versions = u32(h + 4);
        const std::uint16_t major = static_cast<std::uint16_t>(swapped_ ? versions >> 16 : versions & 0xffff);
        const std::uint16_t minor = static_cast<std::uint16_t>(swapped_ ? versions & 0xffff : versions >> 16);
        if (major != 2 || minor < 3 || minor > 4)
            fail("unsupported pcap version " + std::to_string(major) + "." + std::to_string(minor));
        maybe_swapped_lengths_ = minor == 3;
        iface_.snaplen = u32(h + 16);
        iface_.linktype = u32(h + 20) & 0xffff;
        const bool ns = magic == detail::pcap_magic_ns;
        iface_.ts_digits = ns ? 9 : 6;
        frac_per_sec_ = ns ? 1000000000u : 1000000u;
        ns_per_frac_ = ns ? 1u : 1000u;
        record_header_ = magic == detail::pcap_magic_modified ? 24 : 16;
        max_caplen_ = max_caplen_for_linktype(iface_.linktype);
        header_ = true;
        begin_ += 24;
        offset_ = 24;
    }

    std::string name_;
    std::vector<std::uint8_t> buf_;
    std::size_t begin_ = 0, end_ = 0;  // unconsumed bytes (the current packet first)
    std::size_t want_ = 0;             // bytes the next step needs from begin_
    bool current_ = false;
    std::size_t current_size_ = 0;
    std::uint64_t offset_ = 0;         // stream offset of begin_
    std::uint64_t received_ = 0, packets_ = 0;
    bool header_ = false, swapped_ = false, maybe_swapped_lengths_ = false;
    interface_info iface_;
    std::uint32_t frac_per_sec_ = 1000000u, ns_per_frac_ = 1000u, max_caplen_ = 262144;
    std::size_t record_header_ = 16;
    std::string failure_;
};

}  // namespace capture
