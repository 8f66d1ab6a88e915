// Reading capture files: classic pcap (both byte orders, microsecond and
// nanosecond) and pcapng (any number of sections and interfaces), from a
// memory mapping, one packet at a time, without copying or allocating.
//
// This is the hot path of every tool that reads captures. The file is mapped
// once; a packet_view points into the mapping; the byte order is decided
// once per file (pcap) or per section (pcapng) and the inner loop is a
// template on it, so reading a record is a handful of loads and compares.
//
// Files on sensors are cut short, crafted by attackers and fuzzed, so every
// length read from the file is checked against what is left before it is
// used, nothing is allocated from a length field (the only allocations are
// per pcapng interface, bounded by the bytes of its block), every step
// moves forward by at least one block, and a problem is reported as a
// format_error that names the file and the byte offset of the record or
// block at fault.
//
// A file cut shorter while it is read reads as zeros past its new end
// rather than raising SIGBUS (fd.hpp). A reader of a mapped file never
// hands such zeros out as packets: it asks whether the file still holds
// what it read when it meets a pcap record header of zeros (where the new
// end is, in the page that holds it or in those after, that faulted, all
// reads as zeros) and at the end of the file; a file cut under it is then
// a format_error "cut short while being read". Nothing is added to the
// reading of a whole file but one test of a length already in a register.
// pcapng needs no more: zeros are not a valid block, and a block cut short
// fails its trailer check; the message then says the file was cut. The
// packet the cut went through may have been handed out already, its tail
// zeros: its reader learns at the next call, and still_holds() says it.
//
// Where the formats leave room, we follow libpcap 1.10 (sf-pcap.c,
// sf-pcapng.c, pcap-common.c), so that what tcpdump reads, we read:
//   * A pcap record whose captured length exceeds the header's snaplen is
//     accepted; one above max_caplen_for_linktype() (262144, or the larger
//     maxima libpcap allows D-Bus, EBHSCR and USBPcap) is an error, as in
//     libpcap's pcap_next_packet(). libpcap then cuts such a packet down to
//     the snaplen; we hand out the whole record (as Wireshark does), since
//     it is in the file and callers check caplen, not snaplen.
//   * The pcap link-type field keeps its low 16 bits, the LinkType of the
//     pcap specification (the upper bits carry FCS information). libpcap's
//     LT_LINKTYPE() keeps 26 bits, but bits 16-25 are reserved and zero in
//     every valid file, and 16 bits is what a pcapng IDB holds, so both
//     formats give the same value. header_linktype() keeps the whole field.
//   * pcap versions 2.0 to 2.4 and 543.0 (DG/UX) are read, with caplen and
//     len exchanged before 2.3 and, when caplen > len, in 2.3.
//   * The "modified" pcap format (magic a1b2cd34, 24-byte record headers)
//     is read as pcap.
// And where libpcap refuses what the pcapng specification allows, we read
// it: sections in different byte orders, interfaces with different link
// types and snaplens, an EPB caplen above the interface's snaplen (bounded
// as for pcap and by its block).
//
// The types the formats share (timestamps, packets, interfaces, the magic
// numbers) are in capture_format.hpp; what is decided inside one pcapng
// block (interface options, clocks) is in pcapng_blocks.hpp; this header is
// the walk over records, blocks and sections.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/pcap/capture_format.hpp"
#include "capture/pcap/pcapng_blocks.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace capture {

/// Reads the packets of one pcap or pcapng file, front to back.
class capture_reader {
public:
    /// Maps the file at path and reads its header (and, for pcapng, the
    /// interface blocks that lead the first section). Throws error("PATH: why")
    /// when it cannot be opened or mapped, format_error when it is not a
    /// capture file ("not a pcap or pcapng file", naming a compression) or
    /// its header is broken.
    explicit capture_reader(const std::string& path) : map_(path), name_(path) {
        map_.advise_sequential();
        watch(map_);
        start(map_.data(), map_.size());
    }

    /// Reads the file mapped in map, which must outlive the reader (a
    /// caller that keeps the mapping, to give its pages back or write from
    /// it later); name is what messages call it. Watches for the file being
    /// cut short as the path constructor does. Throws as it does.
    capture_reader(const mapped_file& map, std::string name) : borrowed_(&map), name_(std::move(name)) {
        watch(map);
        start(map.data(), map.size());
    }

    /// Reads a capture held in memory (not copied: data must outlive the
    /// reader); name is what messages call it. Throws as the path constructor.
    capture_reader(const std::uint8_t* data, std::size_t size, std::string name) : name_(std::move(name)) {
        start(data, size);
    }

    /// Move-only: a reader owns its mapping. Throws nothing.
    capture_reader(capture_reader&&) noexcept = default;
    capture_reader& operator=(capture_reader&&) noexcept = default;
    capture_reader(const capture_reader&) = delete;
    capture_reader& operator=(const capture_reader&) = delete;

    /// The file's format. Throws nothing.
    file_format format() const noexcept { return format_; }

    /// The interfaces met so far, numbered across the whole file: pcap has
    /// one; pcapng grows as IDBs are read (section 2's first interface comes
    /// after all of section 1's; the leading IDBs of the first section are
    /// read by the constructor). next() may grow the vector, so hold indexes,
    /// not references to elements. Throws nothing.
    const std::vector<interface_info>& interfaces() const noexcept { return interfaces_; }

    /// Reads the next packet into p. Returns false at a clean end of file
    /// (and again if called again). Throws format_error("PATH: why (at byte
    /// N)") for malformed or truncated data, N being the offset of the record
    /// or block at fault; p is then unchanged, and calling again throws again.
    /// A mapped file cut short under the reader is a format_error "PATH: cut
    /// short while being read ..." (p may then hold what was read as zeros:
    /// never use it), again at every later call.
    bool next(packet_view& p) {
        bool got = false;
        switch (mode_) {
            case mode::pcap_native: got = next_pcap<false>(p); break;
            case mode::pcap_swapped: got = next_pcap<true>(p); break;
            case mode::pcapng: got = next_pcapng(p); break;
        }
        prefetch();
        return got;
    }

    /// True when the file still holds the bytes of p, a packet this reader
    /// handed out: ask after using them (fd.hpp's mapped_file::holds). Always
    /// true for a reader of memory. Throws nothing.
    bool still_holds(const packet_view& p) const noexcept { return still_holds(p.data, p.caplen); }

    /// The same for the caplen bytes at data, a packet's. Throws nothing.
    bool still_holds(const std::uint8_t* data, std::uint32_t caplen) const noexcept {
        if (!guarded_) return true;
        return mapping().holds(static_cast<std::size_t>(data - data_) + caplen);
    }

    /// The size of the file in bytes. Throws nothing.
    std::uint64_t file_size() const noexcept { return size_; }
    /// The offset of the next record or block to be read. Throws nothing.
    std::uint64_t position() const noexcept { return pos_; }
    /// The name given at construction (the path). Throws nothing.
    const std::string& name() const noexcept { return name_; }
    /// True when the file (the first section, for pcapng) is in the other
    /// byte order from this host's. Throws nothing.
    bool byte_swapped() const noexcept { return first_swapped_; }
    /// The version in the pcap header or the first section header. Throws nothing.
    std::uint16_t version_major() const noexcept { return version_major_; }
    /// The minor version in the pcap header or the first section header. Throws nothing.
    std::uint16_t version_minor() const noexcept { return version_minor_; }
    /// The pcap header's thiszone (0 for pcapng). Throws nothing.
    std::int32_t thiszone() const noexcept { return thiszone_; }
    /// The pcap header's whole link-type field, FCS bits included (0 for
    /// pcapng). Throws nothing.
    std::uint32_t header_linktype() const noexcept { return header_linktype_; }

private:
    enum class mode : std::uint8_t { pcap_native, pcap_swapped, pcapng };
    enum class step : std::uint8_t { packet, end, section };
    [[noreturn, gnu::cold, gnu::noinline]] void fail(const std::string& why) const {
        throw format_error(name_ + ": " + why + cut_note());
    }
    [[noreturn, gnu::cold, gnu::noinline]] void fail_at(std::uint64_t at, const std::string& why) const {
        throw format_error(name_ + ": " + why + " (at byte " + std::to_string(at) + ")" + cut_note());
    }

    // ---- a file cut short under us (fd.hpp) ----

    const mapped_file& mapping() const noexcept { return borrowed_ ? *borrowed_ : map_; }

    void watch(const mapped_file& map) noexcept { guarded_ = map.data() != nullptr; }

    // What a message about a broken file adds when the file was cut short
    // meanwhile: that is then the likelier cause.
    std::string cut_note() const {
        if (!guarded_) return {};
        const std::size_t now = mapping().length_now();
        if (now >= size_) return {};
        return "; the file was " + mapping().cut_short_text();
    }

    // Throws when the file no longer holds what was read up to pos_ (the
    // record at `at` included), and from then on at every call: the file
    // ends there for the reader, and its end is checked again.
    [[gnu::cold, gnu::noinline]] void check_cut(std::uint64_t at) {
        if (!cut_) {
            if (!guarded_ || mapping().length_now() >= pos_) return;
            cut_ = true;
            cut_at_ = at;
            size_ = at;
        }
        pos_ = cut_at_;
        end_checked_ = false;
        throw format_error(name_ + ": " + mapping().cut_short_text() + " (at byte " + std::to_string(cut_at_) + ")");
    }

    // At the end of a mapped file: was the end still there? A cut inside
    // the last page faults nowhere. Once per file.
    void check_end(std::uint64_t at) {
        if (!guarded_ || end_checked_) return;
        end_checked_ = true;
        check_cut(at);
    }
    [[noreturn, gnu::cold, gnu::noinline]] void fail_truncated(std::uint64_t at, std::string_view what,
                                                               std::uint64_t needs, std::uint64_t left) const {
        fail_at(at, "truncated " + std::string(what) + ": needs " + std::to_string(needs) + " bytes, " +
                        std::to_string(left) + " left");
    }

    void start(const std::uint8_t* data, std::size_t size) {
        data_ = data;
        size_ = size;
        if (size == 0) fail("empty file, not a pcap or pcapng file");
        std::optional<file_format> f = sniff_format(data, size);
        if (!f) {
            std::string_view packed = detail::compression_of(data, size);
            if (!packed.empty())
                fail("not a pcap or pcapng file (" + std::string(packed) + "-compressed: decompress it first)");
            fail("not a pcap or pcapng file");
        }
        format_ = *f;
        if (format_ == file_format::pcapng) {
            mode_ = mode::pcapng;
            read_section_header(true);
            prescan();
        } else {
            read_pcap_header();
        }
    }

    // ---- pcap ----

    void read_pcap_header() {
        constexpr std::size_t header_size = 24;
        if (size_ < header_size) fail_truncated(0, "pcap file header", header_size, size_);
        const std::uint8_t* h = data_;
        std::uint32_t magic = detail::load32<false>(h);
        bool swapped = magic != detail::pcap_magic_us && magic != detail::pcap_magic_ns &&
                       magic != detail::pcap_magic_modified;
        if (swapped) magic = __builtin_bswap32(magic);
        first_swapped_ = swapped;
        mode_ = swapped ? mode::pcap_swapped : mode::pcap_native;
        version_major_ = swapped ? detail::load16<true>(h + 4) : detail::load16<false>(h + 4);
        version_minor_ = swapped ? detail::load16<true>(h + 6) : detail::load16<false>(h + 6);
        auto u32 = [&](std::size_t at) { return swapped ? detail::load32<true>(h + at) : detail::load32<false>(h + at); };
        thiszone_ = static_cast<std::int32_t>(u32(8));
        std::uint32_t snaplen = u32(16);
        header_linktype_ = u32(20);

        // libpcap's pcap_check_header(): 2.0 to 2.4, and DG/UX's 543.0.
        bool known = (version_major_ == 2 && version_minor_ <= 4) || (version_major_ == 543 && version_minor_ == 0);
        if (!known)
            fail("unsupported pcap version " + std::to_string(version_major_) + "." + std::to_string(version_minor_));
        // Before 2.3 (and in DG/UX files) caplen and len are the other way
        // round; some 2.3 writers kept the old order, told by caplen > len.
        if (version_major_ == 543 || version_minor_ < 3) lengths_ = lengths::swapped;
        else if (version_minor_ == 3) lengths_ = lengths::maybe_swapped;

        record_header_size_ = magic == detail::pcap_magic_modified ? 24 : 16;
        interface_info info;
        info.linktype = header_linktype_ & 0xffff;
        info.snaplen = snaplen;
        info.ts_digits = format_ == file_format::pcap_ns ? 9 : 6;
        interfaces_.push_back(std::move(info));
        max_caplen_ = max_caplen_for_linktype(interfaces_[0].linktype);
        frac_per_sec_ = format_ == file_format::pcap_ns ? 1000000000u : 1000000u;
        ns_per_frac_ = format_ == file_format::pcap_ns ? 1u : 1000u;
        pos_ = header_size;
    }

    template <bool Swap>
    bool next_pcap(packet_view& p) {
        const std::size_t at = pos_;
        const std::size_t left = size_ - at;
        if (left < record_header_size_) {
            if (left == 0) {
                check_end(at);
                return false;
            }
            fail_truncated(at, "packet record header", record_header_size_, left);
        }
        const std::uint8_t* h = data_ + at;
        const std::uint32_t sec = detail::load32<Swap>(h);
        const std::uint32_t frac = detail::load32<Swap>(h + 4);
        std::uint32_t caplen = detail::load32<Swap>(h + 8);
        std::uint32_t len = detail::load32<Swap>(h + 12);
        if (lengths_ != lengths::as_written &&
            (lengths_ == lengths::swapped || caplen > len))
            std::swap(caplen, len);
        if (caplen > max_caplen_)
            fail_at(at, "invalid packet capture length " + std::to_string(caplen) + ", bigger than maximum of " +
                            std::to_string(max_caplen_));
        if (caplen > left - record_header_size_)
            fail_truncated(at, "packet record", std::uint64_t{record_header_size_} + caplen, left);
        p.timestamp_carried = frac >= frac_per_sec_;
        if (!p.timestamp_carried) {
            p.ts.sec = sec;
            p.ts.nsec = frac * ns_per_frac_;
        } else {
            // An out-of-range sub-second field (seen in the wild and in
            // tcpdump's tests) is carried into the seconds, so times stay
            // ordered and printable.
            p.ts.sec = std::int64_t{sec} + frac / frac_per_sec_;
            p.ts.nsec = frac % frac_per_sec_ * ns_per_frac_;
        }
        p.caplen = caplen;
        p.origlen = len;
        p.interface = 0;
        p.data = h + record_header_size_;
        p.offset = at;
        p.has_timestamp = true;
        pos_ = at + record_header_size_ + caplen;
        // A header of zeros: perhaps the file was cut short before it.
        if (__builtin_expect(caplen == 0, 0) && (sec | frac | len) == 0 && guarded_) check_cut(at);
        return true;
    }

    // Records are read one after the other, but where the next one starts
    // depends on the length of this one, so each header load waits for the
    // last; asking for the memory a little ahead of time keeps the inner loop
    // from waiting on DRAM at every record. Each line is asked for once.
    void prefetch() noexcept {
        const std::size_t want = std::min(size_, pos_ + prefetch_distance);
        while (prefetched_ < want) {
            __builtin_prefetch(data_ + prefetched_);
            prefetched_ += 64;
        }
    }

    // ---- pcapng ----

    // Reads the section header block at pos_: sets the byte order of the
    // section and starts its interface numbering after the ones before it.
    void read_section_header(bool first) {
        constexpr std::size_t minimum = 28;  // header, BOM, versions, section length, trailer
        const std::size_t at = pos_;
        const std::size_t left = size_ - at;
        if (left < 12) fail_truncated(at, "section header block", minimum, left);
        const std::uint8_t* b = data_ + at;
        std::uint32_t bom = detail::load32<false>(b + 8);
        bool swapped;
        if (bom == detail::pcapng_bom) swapped = false;
        else if (__builtin_bswap32(bom) == detail::pcapng_bom) swapped = true;
        else fail_at(at, "section header block has a bad byte-order magic");
        std::uint32_t len = swapped ? detail::load32<true>(b + 4) : detail::load32<false>(b + 4);
        if (len < minimum || len % 4 != 0)
            fail_at(at, "section header block has an invalid length of " + std::to_string(len));
        if (len > left) fail_truncated(at, "section header block", len, left);
        std::uint32_t trailer = swapped ? detail::load32<true>(b + len - 4) : detail::load32<false>(b + len - 4);
        if (trailer != len) fail_mismatch(at, len, trailer);
        std::uint16_t major = swapped ? detail::load16<true>(b + 12) : detail::load16<false>(b + 12);
        std::uint16_t minor = swapped ? detail::load16<true>(b + 14) : detail::load16<false>(b + 14);
        // Minor versions are compatible by the specification (1.0 and 1.2 exist).
        if (major != 1)
            fail_at(at, "unsupported pcapng version " + std::to_string(major) + "." + std::to_string(minor));
        if (first) {
            first_swapped_ = swapped;
            version_major_ = major;
            version_minor_ = minor;
        }
        section_swapped_ = swapped;
        section_base_ = interfaces_.size();
        section_interfaces_ = 0;
        pos_ = at + len;
    }

    static std::string block_name(std::uint32_t type) { return detail::pcapng_block_name(type); }

    [[noreturn, gnu::cold, gnu::noinline]] void fail_mismatch(std::uint64_t at, std::uint32_t len,
                                                              std::uint32_t trailer) const {
        fail_at(at, "block length " + std::to_string(len) + " in header and " + std::to_string(trailer) +
                        " in trailer differ");
    }

    bool next_pcapng(packet_view& p) {
        for (;;) {
            step s = section_swapped_ ? pcapng_step<true>(p) : pcapng_step<false>(p);
            if (s == step::packet) return true;
            if (s == step::end) return false;
            read_section_header(false);
        }
    }

    // Checks the block at pos_ (length sane, inside the file, trailer equal)
    // and returns its length; type is its type. Stops (returns 0) at a clean
    // end or before a section header block, which the caller reads itself.
    template <bool Swap>
    std::uint32_t frame_block(std::uint32_t& type) {
        const std::size_t at = pos_;
        const std::size_t left = size_ - at;
        if (left == 0) {
            check_end(at);
            type = 0;
            return 0;
        }
        if (left < 12) fail_truncated(at, "block", 12, left);
        const std::uint8_t* b = data_ + at;
        type = detail::load32<Swap>(b);
        if (type == detail::pcapng_shb) return 0;
        const std::uint32_t len = detail::load32<Swap>(b + 4);
        if (len < 12 || len % 4 != 0)
            fail_at(at, block_name(type) + " has an invalid length of " + std::to_string(len));
        if (len > left) fail_truncated(at, block_name(type), len, left);
        const std::uint32_t trailer = detail::load32<Swap>(b + len - 4);
        if (trailer != len) fail_mismatch(at, len, trailer);
        return len;
    }

    template <bool Swap>
    step pcapng_step(packet_view& p) {
        for (;;) {
            std::uint32_t type;
            const std::uint32_t len = frame_block<Swap>(type);
            if (len == 0) return type == detail::pcapng_shb ? step::section : step::end;
            const std::size_t at = pos_;
            const std::uint8_t* body = data_ + at + 8;
            const std::uint32_t room = len - 12;  // between header and trailer
            switch (type) {
                case detail::pcapng_epb:
                case detail::pcapng_pb: {
                    // The obsolete Packet Block is an EPB whose interface id is
                    // 16 bits (followed by a drop count): same layout otherwise.
                    const bool enhanced = type == detail::pcapng_epb;
                    if (room < 20) fail_at(at, block_name(type) + " too short (" + std::to_string(len) + " bytes)");
                    const std::uint32_t id = enhanced ? detail::load32<Swap>(body) : detail::load16<Swap>(body);
                    const std::uint64_t t = std::uint64_t{detail::load32<Swap>(body + 4)} << 32 |
                                            detail::load32<Swap>(body + 8);
                    const std::uint32_t caplen = detail::load32<Swap>(body + 12);
                    const std::uint32_t origlen = detail::load32<Swap>(body + 16);
                    emit(p, at, id, t, caplen, origlen, body + 20, room - 20);
                    pos_ = at + len;
                    return step::packet;
                }
                case detail::pcapng_spb: {
                    if (room < 4) fail_at(at, "simple packet block too short (" + std::to_string(len) + " bytes)");
                    if (section_interfaces_ == 0)
                        fail_at(at, "simple packet block before any interface description block in its section");
                    const detail::pcapng_clock& c = clocks_[section_base_];
                    const std::uint32_t origlen = detail::load32<Swap>(body);
                    std::uint32_t caplen = origlen;
                    if (c.snaplen != 0 && caplen > c.snaplen) caplen = c.snaplen;
                    if (caplen > room - 4) caplen = room - 4;
                    p.ts = timestamp{};
                    p.caplen = caplen;
                    p.origlen = origlen;
                    p.interface = static_cast<std::uint32_t>(section_base_);
                    p.data = body + 4;
                    p.offset = at;
                    p.has_timestamp = false;
                    pos_ = at + len;
                    return step::packet;
                }
                case detail::pcapng_idb:
                    add_interface<Swap>(at, body, room);
                    break;
                default:  // NRB, ISB, DSB, custom and unknown blocks carry no packets
                    break;
            }
            pos_ = at + len;
        }
    }

    // Fills p from an EPB or PB whose fields are already in host order.
    void emit(packet_view& p, std::size_t at, std::uint32_t id, std::uint64_t t, std::uint32_t caplen,
              std::uint32_t origlen, const std::uint8_t* data, std::uint32_t room) {
        if (id >= section_interfaces_)
            fail_at(at, "packet on interface " + std::to_string(id) + ", but its section has " +
                            std::to_string(section_interfaces_) + " interface description block(s)");
        const std::size_t global = section_base_ + id;
        const detail::pcapng_clock& c = clocks_[global];
        if (caplen > room)
            fail_at(at, "packet data of " + std::to_string(caplen) + " bytes runs past the end of its block (room for " +
                            std::to_string(room) + ")");
        if (caplen > c.max_caplen)
            fail_at(at, "invalid packet capture length " + std::to_string(caplen) + ", bigger than maximum of " +
                            std::to_string(c.max_caplen));
        p.ts = to_time(c, t, at);
        p.caplen = caplen;
        p.origlen = origlen;
        p.interface = static_cast<std::uint32_t>(global);
        p.data = data;
        p.offset = at;
        p.has_timestamp = true;
    }

    timestamp to_time(const detail::pcapng_clock& c, std::uint64_t t, std::size_t at) const {
        std::optional<timestamp> ts = detail::pcapng_time(c, t);
        if (!ts) fail_at(at, "timestamp out of range");
        return *ts;
    }

    template <bool Swap>
    void add_interface(std::size_t at, const std::uint8_t* body, std::uint32_t room) {
        // A block too short is reported as such before the count is.
        if (room >= 8 && interfaces_.size() >= detail::max_interfaces)
            fail_at(at, "more than " + std::to_string(detail::max_interfaces) + " interfaces");
        detail::pcapng_interface idb;
        try {
            idb = detail::read_interface_block<Swap>(body, room);
        } catch (const format_error& e) {
            fail_at(at, e.what());
        }
        interfaces_.push_back(std::move(idb.info));
        clocks_.push_back(idb.clock);
        ++section_interfaces_;
    }

    // Reads the interface blocks that lead the first section, so interfaces()
    // is known before the first packet. Stops at the first packet, section
    // header, end, or anything wrong, leaving that to next() to meet again.
    void prescan() {
        try {
            for (;;) {
                std::uint32_t type, len;
                len = section_swapped_ ? frame_block<true>(type) : frame_block<false>(type);
                if (len == 0 || type == detail::pcapng_epb || type == detail::pcapng_spb || type == detail::pcapng_pb)
                    return;
                if (type == detail::pcapng_idb) {
                    if (section_swapped_) add_interface<true>(pos_, data_ + pos_ + 8, len - 12);
                    else add_interface<false>(pos_, data_ + pos_ + 8, len - 12);
                }
                pos_ += len;
            }
        } catch (const format_error&) {
            // pos_ still names the block at fault; next() reports it.
        }
    }

    enum class lengths : std::uint8_t { as_written, swapped, maybe_swapped };

    mapped_file map_;
    const mapped_file* borrowed_ = nullptr;  // the caller's mapping, when it keeps one
    bool guarded_ = false;       // a mapped file: check it is still there
    bool end_checked_ = false;
    bool cut_ = false;           // cut short under us: every call throws
    std::size_t cut_at_ = 0;
    std::string name_;
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t pos_ = 0;
    std::size_t prefetched_ = 0;  // everything below was prefetched already
    static constexpr std::size_t prefetch_distance = 4096;
    file_format format_ = file_format::pcap;
    mode mode_ = mode::pcap_native;
    lengths lengths_ = lengths::as_written;
    bool first_swapped_ = false;
    bool section_swapped_ = false;
    std::uint16_t version_major_ = 0;
    std::uint16_t version_minor_ = 0;
    std::int32_t thiszone_ = 0;
    std::uint32_t header_linktype_ = 0;
    // pcap
    std::uint32_t record_header_size_ = 16;
    std::uint32_t max_caplen_ = 262144;
    std::uint32_t frac_per_sec_ = 1000000;
    std::uint32_t ns_per_frac_ = 1000;
    // pcapng
    std::vector<interface_info> interfaces_;
    std::vector<detail::pcapng_clock> clocks_;
    std::size_t section_base_ = 0;
    std::size_t section_interfaces_ = 0;
};

/// How much of a capture file is whole packets.
struct whole_packets {
    std::uint64_t end = 0;      ///< where the last whole packet ends (past the header when none)
    std::uint64_t packets = 0;  ///< how many come before it
};

/// Reads the capture at path through and says where its last whole packet
/// ends: a record cut short (a file whose writer was stopped in the middle
/// of a write), or any broken one, ends the count. Throws error when path
/// cannot be read or its header is no capture's.
inline whole_packets count_whole_packets(const std::string& path) {
    capture_reader r(path);
    whole_packets w{r.position(), 0};
    packet_view p;
    try {
        while (r.next(p)) {
            ++w.packets;
            w.end = r.position();
        }
    } catch (const format_error&) {
        // What comes before it is whole.
    }
    return w;
}

}  // namespace capture
