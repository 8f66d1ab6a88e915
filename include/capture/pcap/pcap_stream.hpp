// Reading a capture stream as it arrives on a pipe: its header, then one
// record at a time, from a bounded buffer that the caller fills.
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
// Classic pcap (one interface), or pcapng of one section (what a remote
// cap-pull -F pcapng -w - writes, a sensor's windows of several link types
// included): its interface description blocks come before its first
// packet (the header is read once that packet's block begins, so that
// every interface is known before any packet), then enhanced packet
// blocks, and other blocks (name resolution, statistics) skipped. A second
// section, an interface declared after a packet, and simple packet blocks
// (no time to merge by) are refused: a stream is merged as it comes, and
// its interfaces are declared once.
//
// The checks are capture_reader's: pcap version 2.x, a captured length no
// larger than the link type allows, an out-of-range fraction carried into
// the seconds; pcapng version 1, block lengths framed and equal to their
// trailers, interface options as pcapng_blocks.hpp reads them; and a block
// no longer than its interfaces' largest packet could make it. A malformed
// stream is a format_error naming it and the byte offset of the record or
// block at fault.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/pcap/capture_format.hpp"
#include "capture/pcap/linktype.hpp"
#include "capture/pcap/pcapng_blocks.hpp"
#include "capture/sys/error.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace capture {

/// The bytes a pcap_stream holds at most, unless one record is larger.
inline constexpr std::size_t pcap_stream_buffer_bytes = std::size_t{1} << 21;

/// The room a pcapng block may take beyond its packet: block and packet
/// headers, and options.
inline constexpr std::uint32_t pcapng_stream_block_slack = 65536;

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
            consume(current_size_);
            current_ = false;
        }
        if (!read_header()) return false;
        if (pcapng_) return next_block();
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
        if (pcapng_) return read_pcapng_header();
        if (end_ - begin_ < 4) return want(4);
        std::uint32_t magic;
        std::memcpy(&magic, buf_.data() + begin_, 4);
        if (magic == detail::pcapng_shb) {
            pcapng_ = true;
            return read_pcapng_header();
        }
        if (end_ - begin_ < 24) return want(24);
        parse_header();
        return true;
    }

    /// The current packet (after next() said true), pointing into the
    /// buffer: valid until space() or next() is called. Throws nothing.
    packet_view packet() const noexcept {
        packet_view p;
        const std::uint8_t* h = buf_.data() + begin_;
        if (pcapng_) {
            p.ts = block_time_;
            p.caplen = u32(h + 20);
            p.origlen = u32(h + 24);
            p.interface = block_interface_;
            p.data = h + 28;
            p.offset = offset_;
            return p;
        }
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

    /// True once the stream's header has been read (for pcapng, its
    /// interfaces, up to its first packet). Throws nothing.
    bool has_header() const noexcept { return header_; }
    /// True for a pcapng stream (known once its first bytes came). Throws nothing.
    bool pcapng() const noexcept { return pcapng_; }
    /// The stream's interfaces, packet().interface indexing them: pcap's
    /// one, pcapng's description blocks (valid once has_header()). Throws nothing.
    const std::vector<interface_info>& interfaces() const noexcept { return interfaces_; }
    /// The first of them (valid once has_header()). Throws nothing.
    const interface_info& interface() const noexcept { return interfaces_.front(); }
    /// True when timestamps come finer than microseconds (valid once
    /// has_header()). Throws nothing.
    bool nanoseconds() const noexcept {
        for (const auto& i : interfaces_)
            if (i.ts_digits > 6) return true;
        return false;
    }
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
        // A pcapng stream of interfaces and no packet ends after whole blocks.
        if (left)
            throw format_error(name_ + " ended inside " +
                               std::string(pcapng_ ? (shb_read_ ? "a block" : "the section header block")
                                                   : header_ ? "a packet record" : "the pcap header") +
                               " (" + std::to_string(left) + " of " + std::to_string(std::max(want_, left + 1)) +
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

    std::uint16_t u16(const std::uint8_t* p) const noexcept {
        std::uint16_t v;
        std::memcpy(&v, p, 2);
        return swapped_ ? static_cast<std::uint16_t>(__builtin_bswap16(v)) : v;
    }

    void consume(std::size_t n) noexcept {
        begin_ += n;
        offset_ += n;
    }

    // ---- pcapng ----

    // The section header block, then blocks up to the first packet's:
    // true once that block has begun to arrive (its interfaces all read).
    bool read_pcapng_header() {
        if (!shb_read_) {
            if (end_ - begin_ < 12) return want(12);
            const std::uint8_t* b = buf_.data() + begin_;
            std::uint32_t bom;
            std::memcpy(&bom, b + 8, 4);
            if (bom == detail::pcapng_bom) swapped_ = false;
            else if (__builtin_bswap32(bom) == detail::pcapng_bom) swapped_ = true;
            else fail("a section header block with a bad byte-order magic");
            const std::uint32_t len = u32(b + 4);
            if (len < 28 || len % 4 != 0 || len > pcapng_stream_block_slack)
                fail("a section header block of " + std::to_string(len) + " bytes");
            if (end_ - begin_ < len) return want(len);
            check_trailer(b, len);
            const std::uint16_t major = u16(b + 12), minor = u16(b + 14);
            if (major != 1) fail("unsupported pcapng version " + std::to_string(major) + "." + std::to_string(minor));
            consume(len);
            shb_read_ = true;
        }
        for (;;) {
            if (end_ - begin_ < 8) return want(8);
            std::uint32_t type = u32(buf_.data() + begin_), len;
            if (type == detail::pcapng_epb || type == detail::pcapng_pb || type == detail::pcapng_spb) {
                if (interfaces_.empty()) fail("a " + detail::pcapng_block_name(type) + " before any interface");
                header_ = true;
                want_ = 0;
                return true;
            }
            if (!frame(type, len, false)) return false;
            if (type == detail::pcapng_idb) add_interface(len);
            consume(len);
        }
    }

    // The block at begin_, if whole: its type and length, checked (a
    // second section refused). False when more bytes are needed.
    bool frame(std::uint32_t& type, std::uint32_t& len, bool after_packets) {
        if (end_ - begin_ < 8) return want(8);
        const std::uint8_t* b = buf_.data() + begin_;
        type = u32(b);
        if (type == detail::pcapng_shb) fail("a second section: a sensor's stream is one");
        len = u32(b + 4);
        if (len < 12 || len % 4 != 0)
            fail("a " + detail::pcapng_block_name(type) + " with an invalid length of " + std::to_string(len));
        if (len > max_block_)
            fail("a " + detail::pcapng_block_name(type) + " of " + std::to_string(len) +
                 " bytes, more than its interfaces' packets need");
        if (type == detail::pcapng_idb && after_packets)
            fail("an interface description block after packets: its interfaces are declared before them");
        if (end_ - begin_ < len) return want(len);
        check_trailer(b, len);
        return true;
    }

    void check_trailer(const std::uint8_t* b, std::uint32_t len) {
        const std::uint32_t trailer = u32(b + len - 4);
        if (trailer != len)
            fail("block length " + std::to_string(len) + " in header and " + std::to_string(trailer) +
                 " in trailer differ");
    }

    void add_interface(std::uint32_t len) {
        if (interfaces_.size() >= detail::max_interfaces)
            fail("more than " + std::to_string(detail::max_interfaces) + " interfaces");
        const std::uint8_t* body = buf_.data() + begin_ + 8;
        detail::pcapng_interface idb;
        try {
            idb = swapped_ ? detail::read_interface_block<true>(body, len - 12)
                           : detail::read_interface_block<false>(body, len - 12);
        } catch (const format_error& e) {
            fail(e.what());
        }
        max_block_ = std::max<std::uint64_t>(max_block_, std::uint64_t{idb.clock.max_caplen} + pcapng_stream_block_slack);
        interfaces_.push_back(std::move(idb.info));
        clocks_.push_back(idb.clock);
    }

    // The next packet block, skipping the blocks that hold none.
    bool next_block() {
        for (;;) {
            std::uint32_t type, len;
            if (!frame(type, len, true)) return false;
            const std::uint8_t* b = buf_.data() + begin_;
            if (type == detail::pcapng_spb) fail("a simple packet block, which has no time to merge by");
            if (type != detail::pcapng_epb && type != detail::pcapng_pb) {
                consume(len);
                continue;
            }
            // The obsolete packet block is an EPB whose interface id is 16 bits.
            const std::uint32_t room = len - 12;
            if (room < 20) fail("a " + detail::pcapng_block_name(type) + " too short (" + std::to_string(len) + " bytes)");
            const std::uint32_t id = type == detail::pcapng_epb ? u32(b + 8) : u16(b + 8);
            if (id >= interfaces_.size())
                fail("a packet on interface " + std::to_string(id) + " of " + std::to_string(interfaces_.size()));
            const std::uint32_t caplen = u32(b + 20);
            if (caplen > room - 20)
                fail("packet data of " + std::to_string(caplen) + " bytes runs past the end of its block");
            if (caplen > clocks_[id].max_caplen)
                fail("invalid packet capture length " + std::to_string(caplen) + ", bigger than maximum of " +
                     std::to_string(clocks_[id].max_caplen));
            const std::uint64_t t = std::uint64_t{u32(b + 12)} << 32 | u32(b + 16);
            const std::optional<timestamp> ts = detail::pcapng_time(clocks_[id], t);
            if (!ts) fail("timestamp out of range");
            block_time_ = *ts;
            block_interface_ = id;
            current_ = true;
            current_size_ = len;
            want_ = 0;
            ++packets_;
            return true;
        }
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
            if (!swapped_) fail("not a pcap or pcapng stream");
            magic = __builtin_bswap32(magic);
        }
        const std::uint32_t versions = u32(h + 4);
        const std::uint16_t major = static_cast<std::uint16_t>(swapped_ ? versions >> 16 : versions & 0xffff);
        const std::uint16_t minor = static_cast<std::uint16_t>(swapped_ ? versions & 0xffff : versions >> 16);
        if (major != 2 || minor < 3 || minor > 4)
            fail("unsupported pcap version " + std::to_string(major) + "." + std::to_string(minor));
        maybe_swapped_lengths_ = minor == 3;
        interface_info iface;
        iface.snaplen = u32(h + 16);
        iface.linktype = u32(h + 20) & 0xffff;
        const bool ns = magic == detail::pcap_magic_ns;
        iface.ts_digits = ns ? 9 : 6;
        frac_per_sec_ = ns ? 1000000000u : 1000000u;
        ns_per_frac_ = ns ? 1u : 1000u;
        record_header_ = magic == detail::pcap_magic_modified ? 24 : 16;
        max_caplen_ = max_caplen_for_linktype(iface.linktype);
        interfaces_ = {std::move(iface)};
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
    bool pcapng_ = false, shb_read_ = false;
    std::vector<interface_info> interfaces_;
    std::vector<detail::pcapng_clock> clocks_;  // pcapng: each interface's
    std::uint64_t max_block_ = pcapng_stream_block_slack;  // pcapng: the longest block taken
    timestamp block_time_;                      // pcapng: the current packet's
    std::uint32_t block_interface_ = 0;
    std::uint32_t frac_per_sec_ = 1000000u, ns_per_frac_ = 1000u, max_caplen_ = 262144;
    std::size_t record_header_ = 16;
    std::string failure_;
};

}  // namespace capture
